"""Policies and gates, approvals, rejections, waivers, comments, promotions, webhooks.

The public names of this family are listed by ``steward.services``."""

__all__: list[str] = []
