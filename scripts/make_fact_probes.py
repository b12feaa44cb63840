"""Grow probes/world_facts.jsonl and probes/general_knowledge.jsonl from the tables below.

    python scripts/make_fact_probes.py            # rewrite both files
    python scripts/make_fact_probes.py --check    # exit 1 if the files differ from the tables
    OMP_NUM_THREADS=1 python scripts/make_fact_probes.py --measure results/probes/base-model.json

The first rows of each file (92 world facts, 80 general-knowledge items) are the original
probes: they are kept exactly as they are, with their split, and the rows from the tables
below are appended after them. Everything here was written for this project from common
knowledge (facts are not copyrightable; the files are under the project's licence).

What the tables hold, and the rules they were written by:
- world facts: one "subject | answer" line per fact, grouped by relation. Each relation has
  a sentence template in tasks.WORLD_TEMPLATES; the loader draws the three distractors from
  the other answers of the same relation, so a relation's answers must never be a second
  right answer for another subject of it (no city that shares its name with a city in
  another answer country, no country spanning two continents, no euro adopted lately).
- general knowledge: categories of items that share a question and a sentence form. An item
  either names its three distractors or draws them (fixed seed) from the other answers of
  its category, minus the subject itself and the ones listed in the category's `avoid`
  (answers that would also be right for that subject, e.g. "flock" for geese).
- splits: world facts alternate test / dev down the tables; general-knowledge rows are
  split by row number (even rows test, odd rows dev), so both halves get the same mix.
Only stable facts (not ones that change from year to year); when in doubt an item was left out.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORLD_FILE = ROOT / "probes" / "world_facts.jsonl"
GK_FILE = ROOT / "probes" / "general_knowledge.jsonl"
LEGACY_WORLD, LEGACY_GK = 92, 80  # the original rows, kept first and unchanged

# ---------------------------------------------------------------- world facts, by relation

WORLD = {
    # countries not among the original capitals; answers never double as another capital here
    "capital": """
Brazil | Brasilia
Uruguay | Montevideo
Paraguay | Asuncion
Ecuador | Quito
Panama | Panama City
Costa Rica | San Jose
Nicaragua | Managua
Honduras | Tegucigalpa
El Salvador | San Salvador
Guatemala | Guatemala City
Jamaica | Kingston
Haiti | Port-au-Prince
the Dominican Republic | Santo Domingo
the Bahamas | Nassau
Barbados | Bridgetown
Trinidad and Tobago | Port of Spain
Guyana | Georgetown
Suriname | Paramaribo
Slovakia | Bratislava
Slovenia | Ljubljana
Croatia | Zagreb
Serbia | Belgrade
Bosnia and Herzegovina | Sarajevo
Montenegro | Podgorica
North Macedonia | Skopje
Albania | Tirana
Bulgaria | Sofia
Moldova | Chisinau
Belarus | Minsk
Lithuania | Vilnius
Latvia | Riga
Estonia | Tallinn
Georgia | Tbilisi
Armenia | Yerevan
Azerbaijan | Baku
Cyprus | Nicosia
Malta | Valletta
Northern Ireland | Belfast
Liechtenstein | Vaduz
Andorra | Andorra la Vella
Syria | Damascus
Jordan | Amman
Kuwait | Kuwait City
Qatar | Doha
Bahrain | Manama
the United Arab Emirates | Abu Dhabi
Oman | Muscat
Uzbekistan | Tashkent
Turkmenistan | Ashgabat
Kyrgyzstan | Bishkek
Tajikistan | Dushanbe
Mongolia | Ulaanbaatar
North Korea | Pyongyang
Cambodia | Phnom Penh
Laos | Vientiane
Bhutan | Thimphu
the Maldives | Male
Fiji | Suva
Papua New Guinea | Port Moresby
Algeria | Algiers
Tunisia | Tunis
Libya | Tripoli
Sudan | Khartoum
South Sudan | Juba
Somalia | Mogadishu
Eritrea | Asmara
Uganda | Kampala
Rwanda | Kigali
Zimbabwe | Harare
Zambia | Lusaka
Mozambique | Maputo
Angola | Luanda
Namibia | Windhoek
Botswana | Gaborone
Madagascar | Antananarivo
Malawi | Lilongwe
Senegal | Dakar
Mali | Bamako
Niger | Niamey
Chad | N'Djamena
Cameroon | Yaounde
Gabon | Libreville
the Democratic Republic of the Congo | Kinshasa
the Republic of the Congo | Brazzaville
Burkina Faso | Ouagadougou
Guinea | Conakry
Sierra Leone | Freetown
Liberia | Monrovia
Togo | Lome
Mauritius | Port Louis
Belize | Belmopan
""",
    # capitals of US states, Canadian provinces and Australian states
    "region_capital": """
Alabama | Montgomery
Alaska | Juneau
Arizona | Phoenix
Arkansas | Little Rock
California | Sacramento
Colorado | Denver
Connecticut | Hartford
Delaware | Dover
Florida | Tallahassee
the US state of Georgia | Atlanta
Hawaii | Honolulu
Idaho | Boise
Illinois | Springfield
Indiana | Indianapolis
Iowa | Des Moines
Kansas | Topeka
Kentucky | Frankfort
Louisiana | Baton Rouge
Maine | Augusta
Maryland | Annapolis
Massachusetts | Boston
Michigan | Lansing
Minnesota | Saint Paul
Mississippi | Jackson
Missouri | Jefferson City
Montana | Helena
Nebraska | Lincoln
Nevada | Carson City
New Hampshire | Concord
New Jersey | Trenton
New Mexico | Santa Fe
New York State | Albany
North Carolina | Raleigh
North Dakota | Bismarck
Ohio | Columbus
Oklahoma | Oklahoma City
Oregon | Salem
Pennsylvania | Harrisburg
Rhode Island | Providence
South Carolina | Columbia
South Dakota | Pierre
Tennessee | Nashville
Texas | Austin
Utah | Salt Lake City
Vermont | Montpelier
Virginia | Richmond
Washington State | Olympia
West Virginia | Charleston
Wisconsin | Madison
Wyoming | Cheyenne
Ontario | Toronto
Quebec | Quebec City
British Columbia | Victoria
Alberta | Edmonton
Manitoba | Winnipeg
Saskatchewan | Regina
Nova Scotia | Halifax
New Brunswick | Fredericton
Newfoundland and Labrador | St. John's
Prince Edward Island | Charlottetown
New South Wales | Sydney
the Australian state of Victoria | Melbourne
Queensland | Brisbane
Western Australia | Perth
South Australia | Adelaide
Tasmania | Hobart
""",
    # famous cities whose name no other answer country also has for a city; no US cities, and
    # England / Scotland rather than the United Kingdom (so no answer contains another)
    "city_country": """
Barcelona | Spain
Seville | Spain
Bilbao | Spain
Milan | Italy
Naples | Italy
Venice | Italy
Florence | Italy
Turin | Italy
Munich | Germany
Cologne | Germany
Stuttgart | Germany
Marseille | France
Lyon | France
Bordeaux | France
Toulouse | France
Manchester | England
Birmingham | England
Glasgow | Scotland
Novosibirsk | Russia
Vladivostok | Russia
Shanghai | China
Guangzhou | China
Shenzhen | China
Wuhan | China
Chengdu | China
Osaka | Japan
Kyoto | Japan
Hiroshima | Japan
Nagasaki | Japan
Yokohama | Japan
Sapporo | Japan
Mumbai | India
Kolkata | India
Chennai | India
Bangalore | India
Jaipur | India
Agra | India
Karachi | Pakistan
Lahore | Pakistan
Rio de Janeiro | Brazil
Sao Paulo | Brazil
Recife | Brazil
Toronto | Canada
Vancouver | Canada
Montreal | Canada
Calgary | Canada
Melbourne | Australia
Brisbane | Australia
Luxor | Egypt
Aswan | Egypt
Istanbul | Turkey
Izmir | Turkey
Antalya | Turkey
Marrakesh | Morocco
Cape Town | South Africa
Johannesburg | South Africa
Durban | South Africa
Kano | Nigeria
Rotterdam | the Netherlands
Eindhoven | the Netherlands
Geneva | Switzerland
Zurich | Switzerland
Basel | Switzerland
Krakow | Poland
Gdansk | Poland
Porto | Portugal
Thessaloniki | Greece
Ho Chi Minh City | Vietnam
Cancun | Mexico
Monterrey | Mexico
Acapulco | Mexico
Tijuana | Mexico
Salzburg | Austria
Innsbruck | Austria
Antwerp | Belgium
Bruges | Belgium
Gothenburg | Sweden
Tel Aviv | Israel
Mecca | Saudi Arabia
Jeddah | Saudi Arabia
Dubai | the United Arab Emirates
Chiang Mai | Thailand
Cusco | Peru
Valparaiso | Chile
Isfahan | Iran
Mombasa | Kenya
""",
    # countries that lie on one continent only (no Russia, Turkey, Egypt, Kazakhstan, ...)
    "continent": """
Portugal | Europe
Poland | Europe
Sweden | Europe
Finland | Europe
Greece | Europe
Hungary | Europe
Austria | Europe
Belgium | Europe
Ireland | Europe
Romania | Europe
Bulgaria | Europe
Croatia | Europe
Serbia | Europe
Switzerland | Europe
Ukraine | Europe
Japan | Asia
China | Asia
India | Asia
Thailand | Asia
Vietnam | Asia
Pakistan | Asia
Bangladesh | Asia
Nepal | Asia
Mongolia | Asia
South Korea | Asia
Cambodia | Asia
Iran | Asia
Iraq | Asia
Saudi Arabia | Asia
Nigeria | Africa
Kenya | Africa
Ethiopia | Africa
Ghana | Africa
Morocco | Africa
Algeria | Africa
Senegal | Africa
Uganda | Africa
Zambia | Africa
Zimbabwe | Africa
Tanzania | Africa
Angola | Africa
Mali | Africa
Cameroon | Africa
Sudan | Africa
Namibia | Africa
Brazil | South America
Argentina | South America
Chile | South America
Peru | South America
Colombia | South America
Venezuela | South America
Ecuador | South America
Bolivia | South America
Uruguay | South America
Paraguay | South America
Canada | North America
Mexico | North America
the United States | North America
Guatemala | North America
Honduras | North America
Nicaragua | North America
""",
    # the language most people speak at home (not Brazil, Mexico or Germany: asked elsewhere)
    "language": """
France | French
Italy | Italian
Spain | Spanish
Portugal | Portuguese
Poland | Polish
Greece | Greek
Hungary | Hungarian
Sweden | Swedish
Norway | Norwegian
Denmark | Danish
the Netherlands | Dutch
Romania | Romanian
the Czech Republic | Czech
Turkey | Turkish
Japan | Japanese
South Korea | Korean
Thailand | Thai
Vietnam | Vietnamese
Iran | Persian
Argentina | Spanish
Chile | Spanish
Colombia | Spanish
Cuba | Spanish
Venezuela | Spanish
Uruguay | Spanish
Austria | German
Angola | Portuguese
Egypt | Arabic
Saudi Arabia | Arabic
Syria | Arabic
Jordan | Arabic
Russia | Russian
Indonesia | Indonesian
Croatia | Croatian
Iceland | Icelandic
Mongolia | Mongolian
Slovakia | Slovak
Lithuania | Lithuanian
Albania | Albanian
Armenia | Armenian
Bangladesh | Bengali
Cambodia | Khmer
Bulgaria | Bulgarian
Finland | Finnish
""",
    # stable currencies (not Japan or the United Kingdom: asked elsewhere; no recent euro adopters)
    "currency": """
the United States | dollar
Canada | dollar
Australia | dollar
New Zealand | dollar
India | rupee
Pakistan | rupee
Nepal | rupee
China | yuan
Russia | ruble
South Korea | won
Thailand | baht
Vietnam | dong
Indonesia | rupiah
Malaysia | ringgit
the Philippines | peso
Mexico | peso
Argentina | peso
Chile | peso
Colombia | peso
Brazil | real
South Africa | rand
Nigeria | naira
Kenya | shilling
Ghana | cedi
Egypt | pound
Israel | shekel
Saudi Arabia | riyal
Qatar | riyal
Turkey | lira
Poland | zloty
Hungary | forint
the Czech Republic | koruna
Sweden | krona
Iceland | krona
Norway | krone
Denmark | krone
Switzerland | franc
Bangladesh | taka
Ukraine | hryvnia
Romania | leu
the United Arab Emirates | dirham
Morocco | dirham
Jordan | dinar
Kuwait | dinar
Iraq | dinar
Algeria | dinar
France | euro
Germany | euro
Italy | euro
Spain | euro
Portugal | euro
Greece | euro
Ireland | euro
Austria | euro
the Netherlands | euro
Finland | euro
""",
    # books with one author (not Romeo and Juliet: asked elsewhere)
    "author": """
Hamlet | William Shakespeare
Macbeth | William Shakespeare
Pride and Prejudice | Jane Austen
Emma | Jane Austen
Oliver Twist | Charles Dickens
A Christmas Carol | Charles Dickens
War and Peace | Leo Tolstoy
Anna Karenina | Leo Tolstoy
Crime and Punishment | Fyodor Dostoevsky
Don Quixote | Miguel de Cervantes
The Odyssey | Homer
The Iliad | Homer
Moby-Dick | Herman Melville
The Adventures of Tom Sawyer | Mark Twain
Adventures of Huckleberry Finn | Mark Twain
Nineteen Eighty-Four | George Orwell
Animal Farm | George Orwell
The Great Gatsby | F. Scott Fitzgerald
Frankenstein | Mary Shelley
Dracula | Bram Stoker
Jane Eyre | Charlotte Bronte
Wuthering Heights | Emily Bronte
The Lord of the Rings | J. R. R. Tolkien
The Hobbit | J. R. R. Tolkien
Harry Potter and the Philosopher's Stone | J. K. Rowling
Alice's Adventures in Wonderland | Lewis Carroll
The Old Man and the Sea | Ernest Hemingway
To Kill a Mockingbird | Harper Lee
Les Miserables | Victor Hugo
The Divine Comedy | Dante Alighieri
The Canterbury Tales | Geoffrey Chaucer
Robinson Crusoe | Daniel Defoe
Gulliver's Travels | Jonathan Swift
Treasure Island | Robert Louis Stevenson
The Jungle Book | Rudyard Kipling
The Adventures of Sherlock Holmes | Arthur Conan Doyle
Twenty Thousand Leagues Under the Seas | Jules Verne
Around the World in Eighty Days | Jules Verne
The Catcher in the Rye | J. D. Salinger
Of Mice and Men | John Steinbeck
The Grapes of Wrath | John Steinbeck
On the Origin of Species | Charles Darwin
One Hundred Years of Solitude | Gabriel Garcia Marquez
The Little Prince | Antoine de Saint-Exupery
The Time Machine | H. G. Wells
The War of the Worlds | H. G. Wells
Brave New World | Aldous Huxley
Lord of the Flies | William Golding
The Picture of Dorian Gray | Oscar Wilde
Ulysses | James Joyce
Paradise Lost | John Milton
The Prince | Niccolo Machiavelli
The Republic | Plato
A Brief History of Time | Stephen Hawking
The Wealth of Nations | Adam Smith
Charlie and the Chocolate Factory | Roald Dahl
The Cat in the Hat | Dr. Seuss
Winnie-the-Pooh | A. A. Milne
Peter Pan | J. M. Barrie
The Three Musketeers | Alexandre Dumas
The Count of Monte Cristo | Alexandre Dumas
Madame Bovary | Gustave Flaubert
The Metamorphosis | Franz Kafka
Little Women | Louisa May Alcott
The Call of the Wild | Jack London
Fahrenheit 451 | Ray Bradbury
Murder on the Orient Express | Agatha Christie
""",
    # paintings that no other painter of this list also painted under that name (not the Mona
    # Lisa: asked elsewhere; not The Kiss or The Last Supper: Munch, Picasso and Dali painted one too)
    "painter": """
The Starry Night | Vincent van Gogh
Guernica | Pablo Picasso
The Persistence of Memory | Salvador Dali
The Scream | Edvard Munch
The Birth of Venus | Sandro Botticelli
Girl with a Pearl Earring | Johannes Vermeer
The Night Watch | Rembrandt
The ceiling of the Sistine Chapel | Michelangelo
Water Lilies | Claude Monet
Impression, Sunrise | Claude Monet
American Gothic | Grant Wood
Las Meninas | Diego Velazquez
The School of Athens | Raphael
The Garden of Earthly Delights | Hieronymus Bosch
Liberty Leading the People | Eugene Delacroix
The Third of May 1808 | Francisco Goya
Nighthawks | Edward Hopper
The Son of Man | Rene Magritte
The Arnolfini Portrait | Jan van Eyck
Wanderer above the Sea of Fog | Caspar David Friedrich
The Hay Wain | John Constable
A Sunday Afternoon on the Island of La Grande Jatte | Georges Seurat
""",
    "composer": """
The Four Seasons | Antonio Vivaldi
The Magic Flute | Wolfgang Amadeus Mozart
Eine kleine Nachtmusik | Wolfgang Amadeus Mozart
Swan Lake | Pyotr Ilyich Tchaikovsky
The Nutcracker | Pyotr Ilyich Tchaikovsky
Fur Elise | Ludwig van Beethoven
The Moonlight Sonata | Ludwig van Beethoven
The Blue Danube | Johann Strauss II
Clair de Lune | Claude Debussy
Bolero | Maurice Ravel
Carmen | Georges Bizet
Messiah | George Frideric Handel
The Rite of Spring | Igor Stravinsky
Rhapsody in Blue | George Gershwin
The Planets | Gustav Holst
Aida | Giuseppe Verdi
La Traviata | Giuseppe Verdi
Madama Butterfly | Giacomo Puccini
The Ride of the Valkyries | Richard Wagner
The Brandenburg Concertos | Johann Sebastian Bach
The New World Symphony | Antonin Dvorak
The Hungarian Rhapsodies | Franz Liszt
The Canon in D | Johann Pachelbel
""",
    "element": """
Fe | iron
Au | gold
Ag | silver
Cu | copper
Pb | lead
Na | sodium
K | potassium
Hg | mercury
Sn | tin
O | oxygen
H | hydrogen
He | helium
C | carbon
N | nitrogen
Cl | chlorine
Ca | calcium
Mg | magnesium
Zn | zinc
Ni | nickel
U | uranium
S | sulfur
P | phosphorus
Si | silicon
Al | aluminium
Pt | platinum
Ne | neon
Ar | argon
F | fluorine
I | iodine
Li | lithium
B | boron
Ti | titanium
Cr | chromium
Mn | manganese
Co | cobalt
W | tungsten
Rn | radon
Kr | krypton
Xe | xenon
Ra | radium
Pu | plutonium
Br | bromine
""",
}

# ---------------------------------------------------------------- general knowledge, by category
#
# Each category: a question and a sentence form ({e}: the item's subject), then one item per
# line, "subject | answer" or "subject | answer | distractor; distractor; distractor".
# Without distractors, three are drawn from the category's other answers, minus `avoid`.

GK_CATEGORIES = [
    {"question": "What do you call a baby {e}?", "cloze": "A baby {e} is called a",
     "avoid": {"duck": ["chick"], "goose": ["chick"], "swan": ["chick"],
               "deer": ["calf", "kid"], "seal": ["calf", "cub"], "bear": ["pup"], "goat": ["kid"]},
     "rows": """
cow | calf
horse | foal
sheep | lamb
goat | kid
pig | piglet
frog | tadpole
kangaroo | joey
bear | cub
duck | duckling
goose | gosling
swan | cygnet
chicken | chick
deer | fawn
seal | pup
"""},
    {"question": "What sound does {e} make?", "cloze": "The sound {e} makes is called a", "avoid": {"a cat": ["hiss"]},
     "rows": """
a lion | roar
a snake | hiss
a horse | neigh
a pig | oink
a duck | quack
an owl | hoot
a bee | buzz
a wolf | howl
a sheep | bleat
a donkey | bray
a frog | croak
a cat | meow
a mouse | squeak
an elephant | trumpet
"""},
    {"question": "What is a group of {e} called?", "cloze": "A group of {e} is called a",
     "avoid": {"geese": ["flock"], "crows": ["flock"], "whales": ["school", "herd"], "sheep": ["herd"],
               "fish": ["shoal"], "cows": ["flock"], "lions": ["pack"], "wolves": ["pride"]},
     "rows": """
wolves | pack
lions | pride
cows | herd
geese | gaggle
crows | murder
sheep | flock
fish | school
whales | pod
"""},
    {"question": "What is the opposite of {e}?", "cloze": "The opposite of {e} is",
     "avoid": {"tall": ["small"], "wide": ["thin"], "loud": ["low"], "high": ["short"]},
     "rows": """
big | small
tall | short
fast | slow
old | young
happy | sad
wet | dry
rich | poor
easy | difficult
early | late
full | empty
open | closed
strong | weak
loud | quiet
thick | thin
clean | dirty
heavy | light
long | short
alive | dead
true | false
cheap | expensive
safe | dangerous
deep | shallow
wide | narrow
smooth | rough
brave | cowardly
polite | rude
sharp | blunt
tight | loose
high | low
near | far
awake | asleep
guilty | innocent
public | private
ancient | modern
male | female
odd | even
positive | negative
wild | tame
beautiful | ugly
"""},
    {"question": "What is the opposite of the verb to {e}?", "cloze": "The opposite of to {e} is to",
     "avoid": {"arrive": ["exit"], "enter": ["leave"], "win": ["fail"], "succeed": ["lose"], "give": ["save"]},
     "rows": """
buy | sell
push | pull
give | take
win | lose
arrive | leave
begin | end
laugh | cry
remember | forget
open | close
love | hate
sit | stand
lend | borrow
float | sink
enter | exit
increase | decrease
teach | learn
ask | answer
wake up | fall asleep
attack | defend
build | destroy
spend | save
whisper | shout
succeed | fail
"""},
    {"question": "What is the opposite of {e}?", "cloze": "The opposite of {e} is", "avoid": {},
     "rows": """
day | night
north | south
east | west
left | right
black | white
inside | outside
above | below
before | after
first | last
always | never
war | peace
friend | enemy
question | answer
top | bottom
summer | winter
victory | defeat
"""},
    {"question": "What do you call a person whose job is to {e}?", "cloze": "A person whose job is to {e} is",
     "avoid": {"cook meals in a restaurant": ["a baker"], "bake bread": ["a chef"], "care for patients in a hospital": ["a doctor"],
               "write books": ["a journalist"], "paint pictures": ["an artist"]},
     "rows": """
bake bread | a baker
fix leaking pipes | a plumber
fly planes | a pilot
put out fires | a firefighter
treat sick animals | a vet
cut men's hair | a barber
grow crops | a farmer
fix cars | a mechanic
cook meals in a restaurant | a chef
design buildings | an architect
sell flowers | a florist
sell meat | a butcher
study the stars | an astronomer
dig up ancient objects | an archaeologist
defend people in court | a lawyer
fix teeth | a dentist
write books | an author
care for patients in a hospital | a nurse
arrest criminals | a police officer
paint pictures | a painter
make clothes | a tailor
study rocks | a geologist
prepare and sell medicines | a pharmacist
serve food in a restaurant | a waiter
make things out of wood | a carpenter
"""},
    {"question": "What color is {e}?", "cloze": "The color of {e} is",
     "avoid": {"coal": ["grey"], "an elephant": ["brown"], "chocolate": ["black", "white", "pink"], "a flamingo": ["red", "orange", "white"],
               "milk": ["yellow"], "a lemon": ["green"], "a lime": ["yellow"], "a carrot": ["purple", "yellow", "white", "red"],
               "a pumpkin": ["white", "green", "yellow"], "a ripe strawberry": ["white"], "lavender flowers": ["blue", "white", "pink"],
               "an egg yolk": ["orange"], "fresh grass": ["yellow", "brown"], "blood": ["black", "brown"], "a ruby": ["pink"]},
     "rows": """
fresh grass | green
fresh snow | white
coal | black
blood | red
a lemon | yellow
milk | white
a flamingo | pink
an emerald | green
a ruby | red
an elephant | grey
a carrot | orange
lavender flowers | purple
chocolate | brown
a ripe strawberry | red
a lime | green
a pumpkin | orange
an egg yolk | yellow
a polar bear's fur | white
"""},
    {"question": "What day comes after {e}?", "cloze": "The day after {e} is", "avoid": {},
     "rows": """
Monday | Tuesday
Tuesday | Wednesday
Wednesday | Thursday
Thursday | Friday
Friday | Saturday
Saturday | Sunday
Sunday | Monday
"""},
    {"question": "What day comes before {e}?", "cloze": "The day before {e} is", "avoid": {},
     "rows": """
Monday | Sunday
Tuesday | Monday
Wednesday | Tuesday
Thursday | Wednesday
Friday | Thursday
Saturday | Friday
Sunday | Saturday
"""},
    {"question": "What month comes after {e}?", "cloze": "The month after {e} is", "avoid": {},
     "rows": """
January | February
February | March
March | April
April | May
May | June
June | July
July | August
August | September
September | October
October | November
November | December
"""},
    {"question": "What kind of animal is {e}?", "cloze": "{E} is a kind of", "avoid": {},
     "rows": """
a whale | mammal
a dolphin | mammal
a bat | mammal
a horse | mammal
a kangaroo | mammal
a koala | mammal
a penguin | bird
an ostrich | bird
an eagle | bird
an owl | bird
a parrot | bird
a hummingbird | bird
a shark | fish
a salmon | fish
a tuna | fish
a seahorse | fish
a goldfish | fish
a crocodile | reptile
a snake | reptile
a lizard | reptile
a turtle | reptile
a cobra | reptile
a frog | amphibian
a salamander | amphibian
a toad | amphibian
a newt | amphibian
an ant | insect
a butterfly | insect
a beetle | insect
a mosquito | insect
a grasshopper | insect
a ladybug | insect
a cow | mammal
a rabbit | mammal
a chimpanzee | mammal
a swan | bird
a pigeon | bird
a flamingo | bird
a trout | fish
a cod | fish
a chameleon | reptile
an iguana | reptile
a tortoise | reptile
a wasp | insect
a dragonfly | insect
a cockroach | insect
"""},
    {"question": "What is the plural of {e}?", "cloze": "The plural of {e} is", "avoid": {},
     "rows": """
mouse | mice
child | children
man | men
woman | women
foot | feet
tooth | teeth
goose | geese
person | people
ox | oxen
"""},
    {"question": "What is the past tense of {e}?", "cloze": "The past tense of {e} is", "avoid": {},
     "rows": """
go | went
eat | ate
run | ran
see | saw
write | wrote
take | took
buy | bought
think | thought
swim | swam
sing | sang
drink | drank
fly | flew
catch | caught
teach | taught
bring | brought
speak | spoke
break | broke
drive | drove
give | gave
know | knew
begin | began
choose | chose
forget | forgot
sleep | slept
"""},
    {"question": "In which country is {e}?", "cloze": "{E} is in", "avoid": {},
     "rows": """
the Colosseum | Italy
the Leaning Tower of Pisa | Italy
the Taj Mahal | India
Machu Picchu | Peru
the Acropolis | Greece
the Parthenon | Greece
Stonehenge | England
the Sydney Opera House | Australia
Uluru | Australia
Mount Fuji | Japan
the Kremlin | Russia
Red Square | Russia
Angkor Wat | Cambodia
Petra | Jordan
Chichen Itza | Mexico
the Sagrada Familia | Spain
the Alhambra | Spain
the Grand Canyon | the United States
Mount Rushmore | the United States
the Golden Gate Bridge | the United States
Table Mountain | South Africa
the Brandenburg Gate | Germany
Neuschwanstein Castle | Germany
the Forbidden City | China
the Terracotta Army | China
Mount Kilimanjaro | Tanzania
the Louvre | France
the Palace of Versailles | France
Hagia Sophia | Turkey
the Burj Khalifa | the United Arab Emirates
Loch Ness | Scotland
the Great Barrier Reef | Australia
the Blue Mosque | Turkey
the Tower of London | England
Big Ben | England
Buckingham Palace | England
Edinburgh Castle | Scotland
the Trevi Fountain | Italy
Mount Vesuvius | Italy
the White House | the United States
the Empire State Building | the United States
the Arc de Triomphe | France
Mount Etna | Italy
"""},
    {"question": "Which country does {e} come from?", "cloze": "{E} is a food that comes from",
     "avoid": {"sushi": ["China"], "fish and chips": ["Scotland"], "haggis": ["England"]},
     "rows": """
sushi | Japan
pizza | Italy
paella | Spain
the taco | Mexico
the croissant | France
kimchi | Korea
goulash | Hungary
haggis | Scotland
pad thai | Thailand
pho | Vietnam
feta cheese | Greece
tandoori chicken | India
dim sum | China
fish and chips | England
tapas | Spain
lasagna | Italy
the burrito | Mexico
bratwurst | Germany
Peking duck | China
the crepe | France
"""},
]

# Single items: "question | sentence form | answer | distractor; distractor; distractor".
GK_ITEMS = """
How many legs does an insect have? | The number of legs an insect has is | six | four; eight; ten
How many legs does a dog have? | The number of legs a dog has is | four | two; six; eight
How many sides does a hexagon have? | The number of sides of a hexagon is | six | five; seven; eight
How many sides does a pentagon have? | The number of sides of a pentagon is | five | four; six; seven
How many sides does an octagon have? | The number of sides of an octagon is | eight | six; seven; ten
How many days are in a leap year? | The number of days in a leap year is | 366 | 365; 364; 360
How many days are in a normal year? | The number of days in a normal year is | 365 | 366; 360; 356
How many months are in a year? | The number of months in a year is | twelve | ten; eleven; thirteen
How many weeks are in a year? | The number of weeks in a year is | 52 | 12; 48; 100
How many seconds are in a minute? | The number of seconds in a minute is | sixty | ten; thirty; a hundred
How many players does a soccer team have on the field? | The number of players a soccer team has on the field is | eleven | nine; ten; twelve
How many strings does a violin have? | The number of strings on a violin is | four | three; five; six
How many strings does a standard guitar have? | The number of strings on a standard guitar is | six | four; five; eight
How many planets are in the solar system? | The number of planets in the solar system is | eight | seven; nine; ten
How many colors are in a rainbow? | The number of colors in a rainbow is | seven | five; six; eight
How many arms does an octopus have? | The number of arms an octopus has is | eight | six; ten; twelve
How many years are in a century? | The number of years in a century is | a hundred | ten; fifty; a thousand
How many years are in a decade? | The number of years in a decade is | ten | five; twelve; twenty
How many cents are in a dollar? | The number of cents in a dollar is | a hundred | ten; fifty; a thousand
How many centimeters are in a meter? | The number of centimeters in a meter is | a hundred | ten; twelve; a thousand
How many meters are in a kilometer? | The number of meters in a kilometer is | a thousand | ten; a hundred; a million
How many grams are in a kilogram? | The number of grams in a kilogram is | a thousand | ten; a hundred; a million
How many faces does a cube have? | The number of faces of a cube is | six | four; five; eight
How many wheels does a tricycle have? | The number of wheels on a tricycle is | three | two; four; five
How many letters are in the English alphabet? | The number of letters in the English alphabet is | 26 | 24; 28; 30
How many keys does a standard piano have? | The number of keys on a standard piano is | 88 | 52; 64; 100
How many squares are on a chessboard? | The number of squares on a chessboard is | 64 | 36; 48; 100
How many cards are in a standard deck without jokers? | The number of cards in a standard deck without jokers is | 52 | 36; 48; 54
How many days does February have in a leap year? | The number of days in February in a leap year is | 29 | 28; 30; 31
How many states does the United States have? | The number of states in the United States is | fifty | forty; forty-eight; fifty-two
How many degrees are in a right angle? | The number of degrees in a right angle is | 90 | 45; 60; 180
How many degrees are in a full circle? | The number of degrees in a full circle is | 360 | 180; 100; 90
What do the angles of a triangle add up to in degrees? | In degrees, the angles of a triangle add up to | 180 | 90; 270; 360
How many rings are on the Olympic flag? | The number of rings on the Olympic flag is | five | four; six; seven
How many teeth does an adult human usually have? | The number of teeth an adult human usually has is | 32 | 20; 28; 40
How many bones are in the adult human body? | The number of bones in the adult human body is | 206 | 106; 180; 306
What is a shape with five sides called? | A shape with five sides is called | a pentagon | a hexagon; an octagon; a triangle
What is a shape with six sides called? | A shape with six sides is called | a hexagon | a pentagon; an octagon; a square
What is a shape with eight sides called? | A shape with eight sides is called | an octagon | a hexagon; a pentagon; an oval
What solid shape is a ball? | A ball has the shape of a | sphere | cube; cone; cylinder
What solid shape is a dice? | A dice has the shape of a | cube | sphere; cone; cylinder
What solid shape is a tin can? | A tin can has the shape of a | cylinder | cube; sphere; pyramid
What gas do plants give off? | The gas that plants give off in sunlight is | oxygen | helium; hydrogen; chlorine
What force pulls objects toward the Earth? | The force that pulls objects toward the Earth is | gravity | magnetism; friction; electricity
What is the boiling point of water in degrees Fahrenheit? | In degrees Fahrenheit, water boils at | 212 | 100; 180; 32
What is the freezing point of water in degrees Fahrenheit? | In degrees Fahrenheit, water freezes at | 32 | 0; 12; 100
What is the center of an atom called? | The center of an atom is called the | nucleus | electron; shell; orbit
What are the negatively charged particles in an atom? | The negatively charged particles in an atom are | electrons | protons; neutrons; photons
What is the largest organ of the human body? | The largest organ of the human body is the | skin | liver; heart; brain
What part of a plant takes in water from the soil? | The part of a plant that takes in water from the soil is the | root | leaf; flower; petal
How do plants make their food? | Plants make their food by a process called | photosynthesis | respiration; digestion; evaporation
What is liquid water turning into vapor called? | Liquid water turning into vapor is called | evaporation | condensation; freezing; melting
What is vapor turning into liquid called? | Vapor turning into liquid is called | condensation | evaporation; melting; freezing
What does the Earth go around once a year? | Once a year the Earth goes around | the Sun | the Moon; Mars; Jupiter
How long does the Earth take to spin once on its axis? | The Earth spins once on its axis in about | 24 hours | one week; one month; one year
Which planet is famous for its rings? | The planet famous for its rings is | Saturn | Mars; Mercury; Venus
What is the hottest planet in the solar system? | The hottest planet in the solar system is | Venus | Mercury; Mars; Earth
What is the smallest planet in the solar system? | The smallest planet in the solar system is | Mercury | Jupiter; Saturn; Neptune
Which planet do we live on? | The planet we live on is | Earth | Mars; Venus; Jupiter
Which planet is farthest from the Sun? | The planet farthest from the Sun is | Neptune | Mercury; Venus; Mars
What is table salt's chemical name? | The chemical name of table salt is | sodium chloride | calcium carbonate; sodium bicarbonate; potassium nitrate
Which gas makes up most of the Earth's air? | The gas that makes up most of the Earth's air is | nitrogen | oxygen; carbon dioxide; hydrogen
What waste gas do humans breathe out? | The waste gas that humans breathe out is | carbon dioxide | helium; hydrogen; neon
Which organ controls the body? | The organ that controls the body is the | brain | heart; liver; kidney
Which organ makes urine? | The organ that makes urine is the | kidney | heart; lung; brain
What are animals that eat only plants called? | Animals that eat only plants are called | herbivores | carnivores; omnivores; insectivores
What are animals that eat only meat called? | Animals that eat only meat are called | carnivores | herbivores; omnivores; vegetarians
What are animals that eat both plants and meat called? | Animals that eat both plants and meat are called | omnivores | herbivores; carnivores; insectivores
What is the study of living things called? | The study of living things is called | biology | geology; astronomy; chemistry
What is the study of rocks called? | The study of rocks is called | geology | biology; astronomy; botany
What is the study of stars and planets called? | The study of stars and planets is called | astronomy | geology; zoology; botany
What is the study of plants called? | The study of plants is called | botany | zoology; geology; astronomy
What is the study of animals called? | The study of animals is called | zoology | botany; geology; astronomy
What is the study of the weather called? | The study of the weather is called | meteorology | geology; astronomy; botany
What instrument measures temperature? | The instrument that measures temperature is a | thermometer | barometer; speedometer; compass
What instrument measures air pressure? | The instrument that measures air pressure is a | barometer | thermometer; odometer; compass
What do scientists use to see very small things? | To see very small things scientists use a | microscope | telescope; periscope; stethoscope
What do astronomers use to look at distant stars? | To look at distant stars astronomers use a | telescope | microscope; stethoscope; periscope
What do doctors use to listen to the heartbeat? | Doctors listen to the heartbeat with a | stethoscope | telescope; microscope; thermometer
What shows the speed of a car? | The speed of a car is shown by the | speedometer | thermometer; barometer; odometer
What is electric current measured in? | Electric current is measured in | amperes | volts; watts; ohms
What is electrical resistance measured in? | Electrical resistance is measured in | ohms | amperes; volts; watts
What is force measured in? | Force is measured in | newtons | joules; watts; pascals
What is frequency measured in? | Frequency is measured in | hertz | decibels; watts; joules
What is loudness measured in? | Loudness is measured in | decibels | hertz; watts; lumens
What is the liquid part of blood called? | The liquid part of blood is called | plasma | bile; saliva; marrow
What element are diamonds made of? | Diamonds are made of | carbon | silicon; iron; sulfur
What kind of object is the Sun? | The Sun is a | star | planet; moon; comet
Whose light does the Moon reflect? | The Moon shines because it reflects light from | the Sun | the Earth; Mars; Jupiter
How long does sunlight take to reach the Earth? | Sunlight reaches the Earth in about eight | minutes | seconds; hours; days
What is the speed of light roughly? | The speed of light is about 300,000 kilometers per | second | minute; hour; day
What is the longest bone in the human body? | The longest bone in the human body is the | femur | humerus; rib; skull
Which vitamin does the skin make in sunlight? | The vitamin that the skin makes in sunlight is vitamin | D | C; A; K
Which vitamin are oranges rich in? | Oranges are rich in vitamin | C | D; K; B12
What is the powerhouse of the cell? | The powerhouse of the cell is the | mitochondria | nucleus; ribosome; membrane
Through what can sound not travel? | Sound cannot travel through a | vacuum | liquid; solid; gas
What elements is water made of? | Water is made of oxygen and | hydrogen | nitrogen; carbon; helium
What is lightning a huge spark of? | Lightning is a huge spark of | electricity | magnetism; gas; steam
How do whales breathe? | Whales breathe air through a | blowhole | gill; fin; tail
How do most fish breathe? | Most fish breathe through their | gills | lungs; fins; scales
Which mineral makes bones strong? | The mineral that makes bones strong is | calcium | sodium; iron; potassium
What is wine made from? | Wine is made from | grapes | tomatoes; potatoes; carrots
What is cheese made from? | Cheese is made from | milk | eggs; flour; rice
What is paper made from? | Paper is made from | wood | sand; clay; wool
What is glass made from? | Glass is made mainly from | sand | wood; clay; salt
What is chocolate made from? | Chocolate is made from | cocoa beans | coffee beans; peanuts; oats
What is tofu made from? | Tofu is made from | soybeans | rice; wheat; potatoes
What is popcorn made from? | Popcorn is made from | corn | rice; wheat; oats
What is cider made from? | Cider is made from | apples | grapes; potatoes; rice
What are raisins? | Raisins are dried | grapes | plums; apricots; figs
What are prunes? | Prunes are dried | plums | grapes; apricots; figs
What are French fries made from? | French fries are made from | potatoes | carrots; apples; rice
What is ketchup made from? | Ketchup is made mainly from | tomatoes | carrots; apples; potatoes
What is guacamole made from? | Guacamole is made mainly from | avocados | potatoes; apples; cucumbers
What is hummus made from? | Hummus is made mainly from | chickpeas | rice; potatoes; peanuts
What is peanut butter made from? | Peanut butter is made from | peanuts | almonds; cashews; walnuts
What is an omelette made from? | An omelette is made from | eggs | rice; flour; beans
What are pickles usually made from? | Pickles are usually made from | cucumbers | potatoes; apples; bananas
What is sauerkraut made from? | Sauerkraut is made from | cabbage | carrots; lettuce; potatoes
Where does wool mostly come from? | Wool mostly comes from | sheep | cows; pigs; chickens
What did Alexander Graham Bell invent? | The telephone was invented by | Alexander Graham Bell | Thomas Edison; Nikola Tesla; Samuel Morse
Who invented the World Wide Web? | The World Wide Web was invented by | Tim Berners-Lee | Bill Gates; Steve Jobs; Alan Turing
Who invented the printing press in Europe? | The printing press was invented in Europe by | Johannes Gutenberg | Martin Luther; Leonardo da Vinci; Galileo Galilei
Who made the first powered airplane flight? | The first powered airplane flight was made by | the Wright brothers | the Montgolfier brothers; Charles Lindbergh; Amelia Earhart
Who invented dynamite? | Dynamite was invented by | Alfred Nobel | Thomas Edison; Louis Pasteur; James Watt
Who proposed evolution by natural selection? | Evolution by natural selection was proposed by | Charles Darwin | Isaac Newton; Gregor Mendel; Louis Pasteur
Who formulated the laws of motion and gravity? | The laws of motion and universal gravitation were formulated by | Isaac Newton | Albert Einstein; Galileo Galilei; Charles Darwin
Who developed the first vaccine, against smallpox? | The first vaccine, against smallpox, was developed by | Edward Jenner | Louis Pasteur; Alexander Fleming; Robert Koch
Who created the periodic table? | The periodic table was created by | Dmitri Mendeleev | John Dalton; Marie Curie; Antoine Lavoisier
Who was the first person in space? | The first person in space was | Yuri Gagarin | Neil Armstrong; John Glenn; Alan Shepard
Who was the first person to walk on the Moon? | The first person to walk on the Moon was | Neil Armstrong | Buzz Aldrin; Yuri Gagarin; John Glenn
Who was the first woman to win a Nobel Prize? | The first woman to win a Nobel Prize was | Marie Curie | Mother Teresa; Florence Nightingale; Rosalind Franklin
In which year did the Titanic sink? | The Titanic sank in the year | 1912 | 1905; 1921; 1931
In which year did World War II end? | World War II ended in | 1945 | 1939; 1918; 1950
In which year did World War I begin? | World War I began in | 1914 | 1918; 1939; 1905
In which year did the Berlin Wall fall? | The Berlin Wall fell in | 1989 | 1991; 1975; 1961
In which year did people first land on the Moon? | People first landed on the Moon in | 1969 | 1959; 1979; 1989
In which year did Columbus first reach the Americas? | Columbus first reached the Americas in | 1492 | 1066; 1588; 1776
In which year was the American Declaration of Independence signed? | The American Declaration of Independence was signed in | 1776 | 1492; 1812; 1865
In which year did the French Revolution begin? | The French Revolution began in | 1789 | 1776; 1815; 1848
Who led the United States through the Civil War? | The American president who led the country through the Civil War was | Abraham Lincoln | George Washington; Thomas Jefferson; Theodore Roosevelt
Who led India's non-violent independence movement? | The leader of India's non-violent independence movement was | Mahatma Gandhi | Nelson Mandela; Martin Luther King Jr.; the Dalai Lama
Who became South Africa's first democratically elected president in 1994? | South Africa's first democratically elected president, in 1994, was | Nelson Mandela | Desmond Tutu; Mahatma Gandhi; Kofi Annan
Which philosopher taught Alexander the Great? | The philosopher who taught Alexander the Great was | Aristotle | Plato; Socrates; Pythagoras
Who gave the "I Have a Dream" speech? | The "I Have a Dream" speech was given by | Martin Luther King Jr. | Malcolm X; Nelson Mandela; John F. Kennedy
Which Egyptian queen allied with Mark Antony? | The Egyptian queen who allied with Mark Antony was | Cleopatra | Nefertiti; Isis; Hatshepsut
Which ship carried the Pilgrims to America in 1620? | The ship that carried the Pilgrims to America in 1620 was the | Mayflower | Titanic; Santa Maria; Beagle
Which Roman leader was killed on the Ides of March? | The Roman leader killed on the Ides of March was | Julius Caesar | Augustus; Nero; Caligula
Who first reached the South Pole? | The first person to reach the South Pole was | Roald Amundsen | Robert Falcon Scott; Ernest Shackleton; Edmund Hillary
Who led the first expedition to sail around the world? | The first expedition to sail around the world was led by | Ferdinand Magellan | Christopher Columbus; Vasco da Gama; James Cook
Who was crowned Emperor of the French in 1804? | The man crowned Emperor of the French in 1804 was | Napoleon Bonaparte | Louis XIV; Charlemagne; Julius Caesar
What do you see with? | You see with your | eyes | ears; nose; hands
What do you hear with? | You hear with your | ears | eyes; nose; hands
What do you smell with? | You smell with your | nose | ears; eyes; hands
What do you taste with? | You taste with your | tongue | ears; eyes; fingers
Which bone protects the brain? | The bone that protects the brain is the | skull | rib; pelvis; femur
Which bones protect the heart and lungs? | The bones that protect the heart and lungs are the | ribs | skull; femur; pelvis
Which joint is in the middle of the leg? | The joint in the middle of the leg is the | knee | elbow; wrist; shoulder
Which joint is in the middle of the arm? | The joint in the middle of the arm is the | elbow | knee; ankle; hip
Which blood vessels carry blood away from the heart? | Blood is carried away from the heart by | arteries | veins; nerves; tendons
What joins muscles to bones? | Muscles are joined to bones by | tendons | ligaments; nerves; arteries
What is the colored part of the eye called? | The colored part of the eye is the | iris | pupil; retina; lens
What are hair and nails made of? | Hair and nails are made of | keratin | calcium; collagen; iron
What is the longest river in South America? | The longest river in South America is the | Amazon | Orinoco; Parana; Magdalena
What is the largest continent? | The largest continent is | Asia | Africa; Europe; South America
What is the smallest continent? | The smallest continent is | Australia | Europe; Antarctica; South America
What is the coldest continent? | The coldest continent is | Antarctica | Europe; Asia; North America
What is the largest island in the world? | The largest island in the world is | Greenland | Madagascar; Borneo; Iceland
Which river flows through Paris? | The river that flows through Paris is the | Seine | Thames; Danube; Rhine
Which river flows through London? | The river that flows through London is the | Thames | Seine; Danube; Tiber
Which river flows through Rome? | The river that flows through Rome is the | Tiber | Seine; Thames; Danube
Which river flows through Vienna and Budapest? | The river that flows through Vienna and Budapest is the | Danube | Rhine; Seine; Thames
What is the longest river in Europe? | The longest river in Europe is the | Volga | Danube; Rhine; Thames
What is the largest country in South America? | The largest country in South America is | Brazil | Argentina; Peru; Colombia
On which continent are the Andes? | The Andes mountains are in | South America | Asia; Africa; Europe
On which continent are the Himalayas? | The Himalayas are in | Asia | South America; Africa; Europe
On which continent are the Rocky Mountains? | The Rocky Mountains are in | North America | South America; Asia; Africa
On which continent is the Sahara? | The Sahara desert is in | Africa | Asia; South America; Australia
On which continent is the Gobi desert? | The Gobi desert is in | Asia | Africa; South America; Australia
What is the imaginary line at 0 degrees latitude? | The imaginary line at 0 degrees latitude is the | equator | prime meridian; Tropic of Cancer; Arctic Circle
Which ocean lies between Europe and North America? | The ocean between Europe and North America is the | Atlantic | Pacific; Indian; Arctic
Which sea lies between Europe and Africa? | The sea between Europe and Africa is the | Mediterranean | Red Sea; Black Sea; Caspian Sea
Which sea lies between Egypt and Saudi Arabia? | The sea between Egypt and Saudi Arabia is the | Red Sea | Black Sea; Caspian Sea; Dead Sea
What is the highest mountain in Africa? | The highest mountain in Africa is | Kilimanjaro | Mount Kenya; Mont Blanc; Mount Etna
Which canal links the Atlantic and the Pacific? | The canal that links the Atlantic and the Pacific is the | Panama Canal | Suez Canal; Kiel Canal; Erie Canal
Which canal links the Mediterranean and the Red Sea? | The canal that links the Mediterranean and the Red Sea is the | Suez Canal | Panama Canal; Kiel Canal; Erie Canal
In which sport do players hit a ball into a hole with clubs? | The sport in which players hit a ball into a hole with clubs is | golf | tennis; cricket; hockey
In which sport is a touchdown scored? | A touchdown is scored in | American football | basketball; baseball; tennis
In which sport is a home run hit? | A home run is hit in | baseball | basketball; golf; tennis
In which sport is a slam dunk made? | A slam dunk is made in | basketball | baseball; golf; tennis
In which game does checkmate end play? | Checkmate ends a game of | chess | poker; tennis; golf
Which sport is the Tour de France? | The Tour de France is a race for | cyclists | runners; swimmers; sailors
In which country did the ancient Olympic Games begin? | The ancient Olympic Games began in | Greece | Rome; Egypt; Persia
What is a score of zero called in tennis? | In tennis a score of zero is called | love | nil; duck; blank
Which sport is played with a shuttlecock? | The sport played with a shuttlecock is | badminton | tennis; squash; table tennis
Which country does sumo wrestling come from? | Sumo wrestling comes from | Japan | China; Korea; Mongolia
What is the rubber disc used in ice hockey called? | The rubber disc used in ice hockey is the | puck | ball; shuttle; ring
In which sport do players use a bat and wickets? | The sport played with a bat and wickets is | cricket | baseball; tennis; golf
In which sport do you knock down pins with a ball? | The sport in which you knock down pins with a ball is | bowling | golf; curling; billiards
Where do you borrow books? | A place where you borrow books is a | library | museum; bakery; hospital
Where do you see wild animals in cages and enclosures? | A place where you can see wild animals in enclosures is a | zoo | library; bakery; bank
Where do very sick people go for treatment? | Very sick people are treated in a | hospital | library; bakery; museum
Where do you buy medicine? | You buy medicine at a | pharmacy | bakery; library; butcher
Where do people keep their money safe? | People keep their money safe in a | bank | library; bakery; museum
Where is bread baked and sold? | Bread is baked and sold at a | bakery | pharmacy; library; bank
Where do trains stop for passengers? | Trains stop for passengers at a | station | harbor; library; bakery
What is the hottest season of the year? | The hottest season of the year is | summer | winter; autumn; spring
What is the coldest season of the year? | The coldest season of the year is | winter | summer; autumn; spring
In which season do leaves fall from trees? | Leaves fall from the trees in | autumn | spring; summer; winter
What do you use to hit a nail? | You hit a nail with a | hammer | saw; screwdriver; spanner
What do you use to cut planks of wood? | You cut planks of wood with a | saw | hammer; screwdriver; wrench
What do you use to turn screws? | You turn screws with a | screwdriver | hammer; saw; chisel
What do pandas mainly eat? | Pandas mainly eat | bamboo | fish; insects; meat
What do koalas eat? | Koalas eat the leaves of | eucalyptus trees | oak trees; pine trees; maple trees
What do cows mainly eat? | Cows mainly eat | grass | meat; fish; insects
Where do camels store fat? | Camels store fat in their | humps | legs; tails; ears
Where do polar bears live? | Polar bears live in the | Arctic | Antarctic; Sahara; Amazon
Where do emperor penguins live? | Emperor penguins live in | Antarctica | the Arctic; Greenland; Alaska
What is the fastest land animal? | The fastest land animal is the | cheetah | lion; horse; gazelle
What is the tallest animal? | The tallest animal is the | giraffe | elephant; camel; ostrich
What is the largest bird? | The largest bird is the | ostrich | eagle; albatross; condor
What is the largest land animal? | The largest land animal is the | elephant | giraffe; rhinoceros; hippopotamus
What is the largest cat? | The largest cat is the | tiger | leopard; jaguar; cheetah
What does a spider catch insects in? | A spider catches insects in its | web | nest; hive; den
Who is the king of the gods in Greek mythology? | In Greek mythology, the king of the gods is | Zeus | Apollo; Hermes; Poseidon
Who is the Roman god of war? | The Roman god of war is | Mars | Jupiter; Neptune; Mercury
Who is the Greek god of the sea? | The Greek god of the sea is | Poseidon | Zeus; Hades; Ares
Who is the king of the gods in Roman mythology? | In Roman mythology, the king of the gods is | Jupiter | Mars; Neptune; Apollo
Who is the Greek goddess of wisdom? | The Greek goddess of wisdom is | Athena | Aphrodite; Hera; Artemis
Who is the Greek goddess of love? | The Greek goddess of love is | Aphrodite | Athena; Hera; Artemis
Who is the Norse god of thunder? | The Norse god of thunder is | Thor | Odin; Loki; Baldur
Who is the Greek god of the underworld? | The Greek god of the underworld is | Hades | Zeus; Poseidon; Apollo
Which hero killed Medusa? | The hero who killed Medusa was | Perseus | Hercules; Achilles; Theseus
What is the winged horse of Greek myth called? | The winged horse of Greek myth is | Pegasus | Centaur; Minotaur; Cerberus
Who is the boy who never grew up? | The boy who never grew up is | Peter Pan | Pinocchio; Tom Thumb; Oliver Twist
Which puppet's nose grows when he lies? | The wooden puppet whose nose grows when he lies is | Pinocchio | Peter Pan; Tom Thumb; Aladdin
Who is Sherlock Holmes's friend and assistant? | Sherlock Holmes's friend and assistant is Doctor | Watson | Moriarty; Lestrade; Hudson
How many dwarfs lived with Snow White? | The number of dwarfs Snow White lived with is | seven | five; six; twelve
In which forest did Robin Hood live? | Robin Hood lived in | Sherwood Forest | the Black Forest; Epping Forest; the New Forest
"""


# ---------------------------------------------------------------- building the files


def parse(table: str) -> list[list[str]]:
    """One list of stripped fields per non-empty line of a "a | b | c" table."""
    return [[f.strip() for f in line.split("|")] for line in table.strip().splitlines() if line.strip()]


def world_rows(legacy: list[dict]) -> list[dict]:
    """The original rows, then every table row, alternately test / dev (the originals end on dev)."""
    rows = list(legacy)
    for k, (rel, subject, answer) in enumerate((rel, *row) for rel, table in WORLD.items() for row in parse(table)):
        rows.append({"relation": rel, "subject": subject, "answer": answer, "split": ("test", "dev")[k % 2]})
    return rows


def _fill(template: str, e: str) -> str:
    """{e}: the subject as written; {E}: the same with a capital first letter (it starts the sentence)."""
    return template.replace("{E}", e[0].upper() + e[1:]).replace("{e}", e)


def gk_rows(legacy: list[dict]) -> list[dict]:
    """The original rows, then the categories, then the single items (the loader splits by row number)."""
    rng = random.Random(2026)  # fixed: the drawn distractors never change between rebuilds
    rows = list(legacy)
    for cat in GK_CATEGORIES:
        items = parse(cat["rows"])
        answers = sorted({x[1] for x in items})
        for x in items:
            subject, answer = x[0], x[1]
            if len(x) == 3:  # distractors written out
                distractors = [d.strip() for d in x[2].split(";")]
            else:  # drawn from the category's other answers, minus any that would also be right
                pool = [a for a in answers if a not in (answer, subject) and a not in cat["avoid"].get(subject, [])]
                distractors = rng.sample(pool, 3)
            rows.append({"question": _fill(cat["question"], subject), "answer": answer, "distractors": distractors,
                         "cloze": _fill(cat["cloze"], subject)})
    for question, cloze, answer, distractors in parse(GK_ITEMS):
        rows.append({"question": question, "answer": answer, "distractors": [d.strip() for d in distractors.split(";")],
                     "cloze": cloze})
    return rows


def check(world: list[dict], gk: list[dict]) -> None:
    """The rules every row must meet (tests/test_probes_stats.py checks the committed files too)."""
    keys = [(r["relation"], r["subject"].lower()) for r in world]
    assert len(keys) == len(set(keys)), "a world fact (relation, subject) appears twice"
    clozes = [r["cloze"].lower() for r in gk]
    assert len(clozes) == len(set(clozes)), "a general-knowledge sentence appears twice"
    for r in gk:
        d = r["distractors"]
        assert len(d) == 3 and len(set(d)) == 3 and r["answer"] not in d, f"bad distractors: {r}"


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


# ---------------------------------------------------------------- measuring the base model on them

# A plausible 5-point loss, shaped like the fact-probe changes of the committed runs: some
# right answers lost and a few wrong ones gained (2-3% of the items), net 5 points.
SIM_LOSS, SIM_GAIN, SIM_DRAWS = 0.05, 0.03, 20


def simulated_loss_interval(correct: list[int], seed: int = 0) -> dict:
    """Paired 95% bootstrap interval of "points lost" (stats.bootstrap, as eval.py reports it)
    for simulated trained models that lose 5 points net on these base outcomes: each draw
    flips SIM_GAIN * n wrong items to right and (SIM_GAIN + SIM_LOSS) * n right items to wrong."""
    import numpy as np  # only the measurement needs numpy

    from stats import bootstrap

    base = np.asarray(correct, dtype=float)
    n, rng, bounds = len(base), np.random.default_rng(seed), []
    gain, lose = round(SIM_GAIN * n), round((SIM_GAIN + SIM_LOSS) * n)
    for d in range(SIM_DRAWS):
        trained = base.copy()
        trained[rng.choice(np.flatnonzero(base == 0), gain, replace=False)] = 1
        trained[rng.choice(np.flatnonzero(base == 1), lose, replace=False)] = 0
        bounds.append(bootstrap([base, trained], lambda g: 100 * (g[0].mean() - g[1].mean()), seed=d))
    lo, hi = np.median(np.array(bounds), axis=0)
    return {"points_lost": 100 * (lose - gain) / n, "ci95": [round(float(lo), 2), round(float(hi), 2)],
            "excludes_zero": bool(lo > 0), "draws": SIM_DRAWS, "flipped_to_right": gain, "flipped_to_wrong": lose}


def measure(out: str) -> None:
    """Score the offline model (fp32, CPU, the threads torch is given) on both halves of both
    probes, as eval.tiny_suite does; write accuracy, Wilson interval, seconds and per-item
    outcomes to `out` (JSON)."""
    import time

    import torch  # only the measurement needs the model

    import common
    import tasks
    from scoring import choice_accuracy
    from stats import wilson

    model, tok = common.load_model(common.OFFLINE_MODEL)
    model.eval()
    res = {"model": common.OFFLINE_MODEL, "dtype": "fp32", "threads": torch.get_num_threads(), "probes": {}}
    for name, probe in (("world", tasks.world_facts), ("gk", tasks.general_knowledge)):
        for split in ("dev", "test"):
            items = probe(split)
            t0 = time.perf_counter()
            r = choice_accuracy(model, tok, items)
            sec = time.perf_counter() - t0
            k = sum(r["correct"])
            res["probes"][f"{name}-{split}"] = {
                "n": r["n"], "correct": k, "acc": round(r["acc"], 4), "wilson95": [round(x, 4) for x in wilson(k, r["n"])],
                "seconds": round(sec, 1), "simulated_5_point_loss": simulated_loss_interval(r["correct"]),
                "items": r["correct"], "prompts": [i["prompt"] for i in items]}
            print(f"{name} {split}: {k}/{r['n']} = {r['acc']:.3f} {wilson(k, r['n'])} in {sec:.0f} s", flush=True)
    Path(out).write_text(json.dumps(res, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("--check", action="store_true", help="only compare the committed files with the tables (exit 1 if they differ)")
    ap.add_argument("--measure", metavar="OUT.json", help="instead: score the offline model on both halves of both probes "
                    "(accuracy, Wilson interval, seconds, a simulated 5-point loss's interval) and write OUT.json")
    args = ap.parse_args(argv)
    if args.measure:
        sys.path.insert(0, str(ROOT))  # the project's modules (the script lives in scripts/)
        import settings

        settings.check_output_file(args.measure, "--measure")  # before the model is scored, not after
        measure(args.measure)
        return 0
    read = lambda f: [json.loads(x) for x in f.read_text().splitlines()]
    world, gk = world_rows(read(WORLD_FILE)[:LEGACY_WORLD]), gk_rows(read(GK_FILE)[:LEGACY_GK])
    check(world, gk)
    for f, rows in ((WORLD_FILE, world), (GK_FILE, gk)):
        if args.check:
            if f.read_text() != render(rows):
                print(f"{f.name} differs from the tables: run python scripts/make_fact_probes.py")
                return 1
        else:
            f.write_text(render(rows))
        print(f"{f.name}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
