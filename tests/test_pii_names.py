"""Person names in any case: found from values and name hints, quiet on ordinary columns.

The labelled columns below are the measurement behind decision 0019: real names (ProPublica's
COMPAS data, lower case) and names of many origins in every case must be flagged; cities,
colours, products, months, occupations, companies, streets and other category words — many of
them also given or family names — must not be, under a neutral column name or under the
ambiguous name hints ``name``, ``first`` and ``last``.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable

import polars as pl
import pytest

from _compas import ORDINARY_STRING_COLUMNS, compas_deduplicated
from steward.data import canonicalize, read_file, scan_pii
from steward.data._pii_names import person_hint


def _split(text: str) -> list[str]:
    return text.split(",")


# the 280-odd largest US cities
CITIES = _split(
    "new york,los angeles,chicago,houston,phoenix,philadelphia,san antonio,san diego,dallas,"
    "san jose,austin,jacksonville,fort worth,columbus,charlotte,indianapolis,san francisco,"
    "seattle,denver,washington,boston,el paso,nashville,detroit,oklahoma city,portland,las vegas,"
    "memphis,louisville,baltimore,milwaukee,albuquerque,tucson,fresno,sacramento,kansas city,"
    "long beach,mesa,atlanta,colorado springs,raleigh,omaha,miami,oakland,minneapolis,tulsa,"
    "wichita,new orleans,arlington,cleveland,bakersfield,tampa,aurora,honolulu,anaheim,santa ana,"
    "corpus christi,riverside,st louis,lexington,stockton,pittsburgh,saint paul,anchorage,"
    "cincinnati,henderson,greensboro,plano,newark,toledo,lincoln,orlando,chula vista,jersey city,"
    "chandler,fort wayne,buffalo,durham,st petersburg,irvine,laredo,lubbock,madison,gilbert,"
    "norfolk,reno,winston salem,glendale,hialeah,garland,scottsdale,irving,chesapeake,"
    "north las vegas,fremont,baton rouge,richmond,boise,san bernardino,spokane,birmingham,modesto,"
    "des moines,rochester,tacoma,fontana,oxnard,moreno valley,fayetteville,huntington beach,"
    "yonkers,montgomery,amarillo,little rock,akron,shreveport,augusta,grand rapids,mobile,"
    "salt lake city,huntsville,tallahassee,grand prairie,overland park,knoxville,worcester,"
    "brownsville,newport news,santa clarita,port st lucie,providence,fort lauderdale,chattanooga,"
    "tempe,oceanside,garden grove,rancho cucamonga,cape coral,santa rosa,vancouver,sioux falls,"
    "peoria,ontario,jackson,elk grove,springfield,pembroke pines,salem,corona,eugene,mckinney,"
    "fort collins,lancaster,cary,palmdale,hayward,salinas,frisco,pasadena,macon,alexandria,pomona,"
    "lakewood,sunnyvale,escondido,hollywood,clarksville,torrance,rockford,joliet,paterson,"
    "bridgeport,naperville,savannah,mesquite,syracuse,mcallen,orange,fullerton,killeen,dayton,"
    "bellevue,miramar,hampton,west valley city,warren,olathe,columbia,thornton,carrollton,midland,"
    "charleston,waco,sterling heights,denton,cedar rapids,new haven,roseville,gainesville,visalia,"
    "coral springs,thousand oaks,elizabeth,stamford,concord,surprise,lafayette,topeka,kent,"
    "simi valley,santa clara,murfreesboro,hartford,athens,victorville,abilene,vallejo,berkeley,"
    "norman,allentown,evansville,odessa,beaumont,independence,ann arbor,el monte,round rock,"
    "wilmington,arvada,provo,lansing,downey,carlsbad,costa mesa,miami gardens,westminster,"
    "clearwater,fairfield,rialto,pueblo,elgin,west jordan,inglewood,richardson,lowell,gresham,"
    "antioch,cambridge,high point,billings,manchester,murrieta,centennial,ventura,pearland,"
    "temecula,waterbury,west covina,north charleston,everett,college station,palm bay,"
    "pompano beach,boulder,norwalk,daly city,burbank,broken arrow,sandy springs,green bay,tyler,"
    "wichita falls,davie,allen,league city,lewisville,rio rancho,jurupa valley,las cruces,"
    "south bend,edison,woodbridge"
)

# colour names, many of them given names too (Rose, Violet, Hazel...)
COLOURS = _split(
    "red,blue,green,white,black,brown,rose,violet,amber,olive,hazel,ruby,jade,ivory,gray,grey,"
    "silver,gold,navy,coral,teal,cyan,magenta,maroon,beige,lavender,lilac,indigo,turquoise,salmon,"
    "peach,mint,crimson,scarlet,azure,cream,charcoal,ochre,tan,khaki,burgundy,emerald,sapphire,"
    "pearl,orange,yellow,pink,purple"
)

# products and models (Echo, Kindle, Civic, Santa Fe...)
PRODUCTS = _split(
    "iphone,galaxy,pixel,echo,kindle,surface,mustang,camry,corolla,civic,accord,outlook,excel,"
    "word,teams,photoshop,alexa,siri,cortana,xbox,playstation,switch,walkman,roomba,prius,model s,"
    "model y,f-150,silverado,wrangler,cherokee,explorer,escape,fusion,focus,fiesta,malibu,impala,"
    "tahoe,suburban,odyssey,pilot,rogue,altima,sentra,elantra,sonata,tucson,santa fe,optima,"
    "sorento,forester,outback,legacy,jetta,passat,golf,beetle,tiguan,macbook air,ipad pro,"
    "apple watch,airpods,thinkpad,pavilion,inspiron,chromebook,nest hub,fire tv"
)

# US states (Georgia, Virginia, Carolina...)
STATES = _split(
    "alabama,alaska,arizona,arkansas,california,colorado,connecticut,delaware,florida,georgia,"
    "hawaii,idaho,illinois,indiana,iowa,kansas,kentucky,louisiana,maine,maryland,massachusetts,"
    "michigan,minnesota,mississippi,missouri,montana,nebraska,nevada,new hampshire,new jersey,"
    "new mexico,new york,north carolina,north dakota,ohio,oklahoma,oregon,pennsylvania,"
    "rhode island,south carolina,south dakota,tennessee,texas,utah,vermont,virginia,washington,"
    "west virginia,wisconsin,wyoming"
)

# countries (Chad, Jordan, Georgia...)
COUNTRIES = _split(
    "united states,canada,mexico,brazil,argentina,chile,peru,colombia,venezuela,united kingdom,"
    "ireland,france,germany,spain,portugal,italy,netherlands,belgium,switzerland,austria,sweden,"
    "norway,denmark,finland,poland,czech republic,hungary,romania,bulgaria,greece,turkey,russia,"
    "ukraine,china,japan,south korea,india,pakistan,bangladesh,indonesia,philippines,vietnam,"
    "thailand,malaysia,singapore,australia,new zealand,egypt,nigeria,kenya,south africa,morocco,"
    "algeria,ethiopia,ghana,israel,saudi arabia,iran,iraq,jordan,lebanon,georgia,armenia,chad,"
    "niger,jamaica,cuba,haiti,panama,costa rica,honduras"
)

# months and weekdays (April, May, June, August...)
CALENDAR = _split(
    "january,february,march,april,may,june,july,august,september,october,november,december,monday,"
    "tuesday,wednesday,thursday,friday,saturday,sunday"
)

# fruit, dog breeds, animals and birds (Cherry, Robin, Martin...)
FRUITS_ANIMALS = _split(
    "apple,banana,cherry,peach,plum,grape,lemon,lime,mango,melon,kiwi,olive,fig,date,pear,berry,"
    "papaya,guava,quince,apricot,labrador,poodle,beagle,boxer,collie,husky,terrier,bulldog,"
    "spaniel,dachshund,rottweiler,chihuahua,pug,maltese,shih tzu,great dane,border collie,"
    "german shepherd,golden retriever,lion,tiger,bear,wolf,fox,eagle,hawk,robin,sparrow,raven,"
    "swan,crane,heron,finch,wren,jay,martin,lark"
)

# occupations, among them occupational surnames (Smith, Taylor, Miller...)
JOBS = _split(
    "software engineer,nurse,teacher,accountant,lawyer,doctor,pharmacist,electrician,plumber,"
    "carpenter,mechanic,chef,cashier,driver,pilot,farmer,banker,clerk,manager,director,analyst,"
    "consultant,designer,architect,dentist,surgeon,librarian,scientist,professor,student,retired,"
    "unemployed,homemaker,sales associate,data scientist,project manager,police officer,"
    "firefighter,social worker,graphic designer,web developer,marketing manager,office assistant,"
    "mason,cook,baker,butcher,taylor,smith,miller,porter,cooper,fisher,hunter,parker,turner,"
    "walker,carter,weaver"
)

# companies, among them founders' names (Wells Fargo, Morgan Stanley...)
COMPANIES = _split(
    "apple,microsoft,google,amazon,meta,netflix,tesla,intel,oracle,ibm,cisco,adobe,salesforce,"
    "nvidia,qualcomm,paypal,uber,lyft,airbnb,spotify,wells fargo,morgan stanley,goldman sachs,"
    "johnson johnson,procter gamble,lockheed martin,harley davidson,dow jones,marks spencer,"
    "dolce gabbana,ben jerry,ernst young,general motors,general electric,ford,boeing,walmart,"
    "target,costco,kroger,home depot,lowes,best buy,macys,nordstrom,kohls,gap,nike,adidas,puma,"
    "reebok,chanel,gucci,prada,hermes,louis vuitton,calvin klein,tommy hilfiger,ralph lauren,"
    "hugo boss,estee lauder,charles schwab,edward jones,merrill lynch,dean witter,smith barney,"
    "jp morgan,bank of america,capital one"
)

# street names (King Street, Madison Avenue...)
STREETS = _split(
    "main street,oak avenue,maple drive,park lane,elm street,cedar road,pine street,"
    "washington avenue,lake drive,hill road,church street,high street,mill lane,station road,"
    "victoria road,king street,queen street,george street,market street,bridge street,north road,"
    "south street,west avenue,east lane,river road,spring street,forest drive,sunset boulevard,"
    "ocean drive,broadway,madison avenue,lexington avenue,park avenue,fifth avenue,wall street,"
    "baker street,abbey road,oxford street,regent street,bond street"
)

# category words of ordinary tables
STATUSES = _split(
    "active,pending,closed,open,approved,rejected,cancelled,completed,draft,archived,new,used,"
    "refurbished,standard,premium,basic,deluxe,gold,silver,bronze,platinum,retail,wholesale,"
    "online,offline,mobile,desktop,tablet,email,phone,chat,social,referral,organic,paid,direct,"
    "search,display,video,audio,image,text,document,spreadsheet,presentation,north,south,east,"
    "west,central,urban,rural,suburban,married,single,divorced,widowed,separated,employed,"
    "unemployed,student,retired,owner,renter,yes,no,unknown,other,none,male,female,low,medium,"
    "high,very high,very low,excellent,good,fair,poor,average"
)

# short free-text answers
PHRASES = _split(
    "great service,late again,very happy,not satisfied,will buy again,too expensive,fast delivery,"
    "poor quality,would recommend,call me back,no comment,love it,hate it,works fine,"
    "broken on arrival,missing parts,as described,good value,bad smell,nice colour,wrong size,"
    "perfect fit,arrived late,customer service rude,easy to use,hard to assemble,looks great,"
    "feels cheap,highly recommended,never again"
)

# sports teams
TEAMS = _split(
    "boston red sox,new york yankees,chicago cubs,los angeles dodgers,san francisco giants,"
    "miami heat,golden state warriors,dallas cowboys,green bay packers,new england patriots,"
    "denver broncos,seattle seahawks,detroit lions,chicago bears,houston rockets,phoenix suns,"
    "utah jazz,orlando magic,atlanta hawks,toronto raptors,manchester united,real madrid,"
    "bayern munich,juventus,arsenal,chelsea,liverpool,barcelona,ajax,celtic"
)

# diagnoses, among them eponyms (Parkinson Disease, Graves Disease...)
DIAGNOSES = _split(
    "diabetes,hypertension,asthma,arthritis,migraine,influenza,pneumonia,bronchitis,anemia,eczema,"
    "psoriasis,dermatitis,gastritis,hepatitis,nephritis,tonsillitis,sinusitis,otitis,"
    "conjunctivitis,cellulitis,gout,lupus,crohn disease,parkinson disease,alzheimer disease,"
    "hodgkin lymphoma,down syndrome,tourette syndrome,bell palsy,addison disease,graves disease,"
    "hashimoto thyroiditis,cushing syndrome,lyme disease"
)

# given and family names of many origins (written here, not taken from Faker)
GIVEN_NAMES = _split(
    "Ada,Jean-Luc,Seán,Mary,Grace,Nguyen,Tran,Mohammed,Fatima,Oluwaseun,Chinedu,Priya,Rahul,Wei,"
    "Li,Hiroshi,Yuki,Min-jun,Ji-woo,José,María,Anna,Piotr,Lars,Ingrid,Hans,Sophie,Giulia,Luca,"
    "Olga,Dmitri,Aisha,Kwame,Ahmed,Leila,Carlos,Ana,Sean,Siobhan,Zoe,Nikos,Emre,Elif,Sanjay,Deepa,"
    "Thabo,Lerato,Juan,Ming,Amara,Tariq,Yasmin,Bongani,Keanu,Ngozi,Sipho,Mei,Arjun,Kavya,Omar,"
    "Layla"
)

#
FAMILY_NAMES = _split(
    "Lovelace,Picard,O'Brien,Hopper,Tolkien,Nguyen,Tran,Al-Farsi,Zahra,Adeyemi,Okafor,Sharma,"
    "Gupta,Zhang,Na,Tanaka,Sato,Kim,Park,García,Fernández,Kowalska,Nowak,Nilsson,Johansson,Müller,"
    "Dubois,Rossi,Bianchi,Ivanova,Petrov,Bello,Mensah,Hassan,Haddad,Silva,Souza,Murphy,Kelly,"
    "Papadopoulos,Georgiou,Yilmaz,Kaya,Patel,Iyer,Nkosi,Dlamini,Rodriguez,Chen,Okonkwo,Rahman,"
    "Khan,Singh,Watanabe,Kumar,Mahlangu,Osei"
)

CATEGORIES = {
    "city": CITIES,
    "colour": COLOURS,
    "product": PRODUCTS,
    "state": STATES,
    "country": COUNTRIES,
    "calendar": CALENDAR,
    "fruit_animal": FRUITS_ANIMALS,
    "job": JOBS,
    "company": COMPANIES,
    "street": STREETS,
    "status": STATUSES,
    "phrase": PHRASES,
    "team": TEAMS,
    "diagnosis": DIAGNOSES,
}
CASES: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "title": str.title,
    "upper": str.upper,
}


def _flagged(column: str, values: list[str]) -> bool:
    scan = scan_pii(pl.DataFrame({column: values}, schema={column: pl.String}))
    return any(f.entity == "PERSON_NAME" and f.source == "values" for f in scan.findings)


def _negatives() -> list[tuple[str, str, list[str]]]:
    rng = random.Random(1)
    cases = []
    for key, pool in CATEGORIES.items():
        for case, change in CASES.items():
            levels = [change(value) for value in pool]
            # as a category column (levels repeated) and as a list of distinct values
            shapes = {"repeated": [rng.choice(levels) for _ in range(600)], "distinct": levels * 2}
            for shape, values in shapes.items():
                for column in ("value", key, "name", "first", "last"):
                    cases.append((f"{key} {case} {shape} as {column!r}", column, values))
    return cases


def _positives() -> list[tuple[str, str, list[str]]]:
    rng = random.Random(5)
    full = sorted({f"{rng.choice(GIVEN_NAMES)} {rng.choice(FAMILY_NAMES)}" for _ in range(500)})
    reversed_ = [", ".join(name.split(" ")[::-1]) for name in full]
    cases = []
    for case, change in CASES.items():
        columns = {
            "full names": (full, ("full_name", "name", "customer", "value")),
            "family, given": (reversed_, ("name", "value")),
            "given names": (GIVEN_NAMES * 2, ("first_name", "first", "value")),
            "family names": (FAMILY_NAMES * 2, ("surname", "last", "nachname")),
        }
        for kind, (names, hinted) in columns.items():
            for column in hinted:
                values = [change(name) for name in names]
                cases.append((f"{kind} {case} as {column!r}", column, values))
    return cases


def test_names_of_many_origins_are_found_in_every_case() -> None:
    missed = [label for label, column, values in _positives() if not _flagged(column, values)]

    assert missed == []


def test_category_words_that_are_also_names_are_not_person_names() -> None:
    flagged = [label for label, column, values in _negatives() if _flagged(column, values)]

    assert flagged == []


# --- the real data set ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compas(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    path = compas_deduplicated(tmp_path_factory.mktemp("compas"))
    frame = pl.from_arrow(canonicalize(read_file(path), str(path)))
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_compas_names_and_birth_dates_are_the_only_personal_data(compas: pl.DataFrame) -> None:
    found: dict[str, list[tuple[str, str]]] = {}
    for finding in scan_pii(compas).findings:
        found.setdefault(finding.column, []).append((finding.entity, finding.source))

    assert found == {
        "name": [("PERSON_NAME", "values")],
        "first": [("PERSON_NAME", "values")],
        "last": [("PERSON_NAME", "values")],
        "dob": [("DATE_OF_BIRTH", "values")],
    }
    assert set(ORDINARY_STRING_COLUMNS) <= set(compas.columns)


@pytest.mark.parametrize("case", sorted(CASES))
def test_compas_names_are_found_in_any_case_and_without_a_name_hint(
    compas: pl.DataFrame, case: str
) -> None:
    change = CASES[case]
    frame = compas.select(
        pl.col("name").map_elements(change, return_dtype=pl.String).alias("defendant"),
        pl.col("first").map_elements(change, return_dtype=pl.String).alias("given"),
        pl.col("first").map_elements(change, return_dtype=pl.String).alias("col_b"),
        pl.col("last").map_elements(change, return_dtype=pl.String).alias("last"),
    )

    flagged = [f.column for f in scan_pii(frame).findings if f.source == "values"]

    assert flagged == ["defendant", "given", "col_b", "last"]


def test_compas_examples_are_initials_never_names(compas: pl.DataFrame) -> None:
    scan = scan_pii(compas.select("name", "first", "last"))
    full_names = set(compas["name"].to_list())

    for finding in scan.findings:
        assert finding.example is not None
        assert all(len(part) == 2 and part.endswith(".") for part in finding.example.split())
        assert not any(name in repr(finding).lower() for name in full_names)


# --- hints, formats and laziness ------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "hint"),
    [
        ("first_name", "qualified"),
        ("Surname", "qualified"),
        ("customerName", "qualified"),
        ("apellidos", "qualified"),
        ("name", "bare"),
        ("Names", "bare"),
        ("first", "weak"),
        ("last", "weak"),
        ("middle", "weak"),
        ("first_seen", None),
        ("last_login", None),
        ("username", None),
        ("file_name", None),
        ("city_name", None),
    ],
)
def test_column_names_hint_person_names_with_a_strength(column: str, hint: str | None) -> None:
    assert person_hint(column) == hint


def test_a_weak_hint_alone_gives_no_finding_and_a_bare_one_a_name_finding_only() -> None:
    frame = pl.DataFrame(
        {
            "last": ["Low", "High", "Medium"] * 20,
            "first": ["yes", "no"] * 30,
            "name": [f"Widget {model}" for model in ("Pro", "Max", "Mini")] * 20,
        }
    )

    found = [(f.column, f.entity, f.source) for f in scan_pii(frame).findings]

    assert found == [("name", "PERSON_NAME", "name")]


def test_names_written_family_name_first_and_with_titles_are_found() -> None:
    frame = pl.DataFrame(
        {
            "passenger": [
                "Braund, Mr. Owen Harris",
                "Cumings, Mrs. John Bradley",
                "Heikkinen, Miss. Laina",
                "Allen, Mr. William Henry",
                "Moran, Mr. James",
                "McCarthy, Mr. Timothy J",
                "Palsson, Master. Gosta Leonard",
                "Johnson, Mrs. Oscar W",
                "Nasser, Mrs. Nicholas",
                "Sandstrom, Miss. Marguerite Rut",
                "Bonnell, Miss. Elizabeth",
                "Saundercock, Mr. William Henry",
                "Andersson, Mr. Anders Johan",
                "Vestrom, Miss. Hulda Amanda Adolfina",
                "Hewlett, Mrs. Mary D Kingcome",
                "Rice, Master. Eugene",
                "Williams, Mr. Charles Eugene",
                "Vander Planke, Mrs. Julius",
                "Masselmani, Mrs. Fatima",
                "Fynney, Mr. Joseph J",
                "Beesley, Mr. Lawrence",
                "McGowan, Miss. Anna",
                "Sloper, Mr. William Thompson",
                "Asplund, Mrs. Carl Oscar",
                "Emir, Mr. Farred Chehab",
            ]
            * 2
        }
    )

    assert scan_pii(frame).columns() == ("passenger",)


def test_loanapp_keeps_its_findings_and_never_loads_the_name_list() -> None:
    script = (
        "import sys\n"
        "from steward.data import scan_pii\n"
        "from steward.samples import loanapp\n"
        "assert scan_pii(loanapp()).findings == ()\n"
        "assert 'faker' not in sys.modules\n"
        "import polars as pl\n"
        "people = ['miguel hernandez', 'kevon dixon', 'ed philo', 'marcu brown', 'joe smith']\n"
        "(found,) = scan_pii(pl.DataFrame({'name': people * 2})).findings\n"
        "assert (found.entity, found.source) == ('PERSON_NAME', 'values')\n"
        "assert 'faker' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr


def test_importing_steward_does_not_import_the_name_list() -> None:
    script = "import sys, steward, steward.data\nassert 'faker' not in sys.modules\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
