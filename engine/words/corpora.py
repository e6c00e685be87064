"""The texts word vectors learn from, each with its analogy questions: a planted corpus and the Lee corpus.

The planted corpus is generated from a seed. Each relation type has pairs of words (king/queen, paris/france,
cat/cats); both words of a pair share their own "identity" context words (crown, throne), and each side of a
relation has context words of its own (he, his beside the male words; she, her beside the female ones). A word's
contexts are then the sum of a pair part and a side part, so vectors that predict contexts well make
queen - king + man land on woman: the analogy is planted in the text, and the questions are known.

The Lee corpus is the 300 Australian news stories (lee_background.cor, 58,152 tokens after gensim's
`simple_preprocess`) that ship inside gensim's wheel, with the wheel's Google analogy questions
(questions-words.txt) and WordSim-353 (wordsim353.tsv). Nothing is downloaded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from gensim.test.utils import datapath
from gensim.utils import simple_preprocess

CORPORA = ("planted", "lee")

# relation: (the two sides' names, their own context words, pairs (left word, right word, identity contexts))
PLANTED_RELATIONS: dict[str, tuple[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]],
                                   tuple[tuple[str, str, tuple[str, str]], ...]]] = {
    "gender": (("male", "female"), (("he", "his", "him"), ("she", "her", "hers")), (
        ("king", "queen", ("crown", "throne")), ("man", "woman", ("adult", "grown")),
        ("boy", "girl", ("school", "playground")), ("prince", "princess", ("castle", "heir")),
        ("father", "mother", ("parent", "home")), ("son", "daughter", ("child", "born")),
        ("brother", "sister", ("sibling", "twin")), ("uncle", "aunt", ("relative", "visit")),
    )),
    "capital": (("capital", "country"), (("mayor", "streets", "downtown"), ("nation", "border", "government")), (
        ("paris", "france", ("french", "seine")), ("rome", "italy", ("italian", "tiber")),
        ("berlin", "germany", ("german", "rhine")), ("madrid", "spain", ("spanish", "iberia")),
        ("tokyo", "japan", ("japanese", "fuji")), ("cairo", "egypt", ("egyptian", "nile")),
        ("lima", "peru", ("peruvian", "andes")), ("oslo", "norway", ("norwegian", "fjord")),
    )),
    "plural": (("one", "many"), (("a", "single", "lone"), ("several", "many", "some")), (
        ("cat", "cats", ("meow", "whiskers")), ("dog", "dogs", ("bark", "leash")),
        ("car", "cars", ("engine", "wheels")), ("tree", "trees", ("leaves", "forest")),
        ("house", "houses", ("roof", "door")), ("bird", "birds", ("wings", "nest")),
        ("book", "books", ("pages", "read")), ("ship", "ships", ("sail", "harbour")),
    )),
}
FILLER = ("the", "and", "of", "to", "in", "was", "it", "that", "on", "with")  # frequent words that carry nothing
PLANTED_SENTENCE_WORDS = 7  # the word, 2 identity contexts, 1 side context, 3 fillers


@dataclass(frozen=True)
class Analogy:
    """a is to b as c is to d: d should be the nearest word to b - a + c."""

    relation: str
    a: str
    b: str
    c: str
    d: str


@dataclass(frozen=True)
class Corpus:
    name: str
    documents: tuple[tuple[str, ...], ...]  # windows never cross a document's end
    analogies: tuple[Analogy, ...]
    similarities: tuple[tuple[str, str, float], ...]  # WordSim-353: word, word, human score 0-10

    @property
    def tokens(self) -> int:
        return sum(len(doc) for doc in self.documents)


def planted_analogies() -> tuple[Analogy, ...]:
    """Every ordered pair of distinct pairs within a relation: 3 relations x 8 x 7 = 168 questions."""
    out = []
    for relation, (_, _, pairs) in PLANTED_RELATIONS.items():
        for a, b, _ in pairs:
            for c, d, _ in pairs:
                if a != c:
                    out.append(Analogy(relation, a, b, c, d))
    return tuple(out)


def planted_corpus(tokens: int, seed: int) -> Corpus:
    """About `tokens` tokens of planted sentences, one sentence per document, from `seed` alone: each is a
    pair word, two of its pair's identity words, one of its side's words and three fillers, shuffled."""
    rng = np.random.default_rng([seed, 16])
    entries = [(pair[side], identity, side_words[side])
               for _, side_words, pairs in PLANTED_RELATIONS.values()
               for *pair, identity in pairs for side in (0, 1)]
    count = max(1, tokens // PLANTED_SENTENCE_WORDS)
    chosen = rng.integers(len(entries), size=count)
    identity_picks = rng.integers(2, size=(count, 2))
    side_picks = rng.integers(3, size=count)
    fillers = np.array(FILLER, dtype=object)[rng.integers(len(FILLER), size=(count, 3))]
    order = np.argsort(rng.random((count, PLANTED_SENTENCE_WORDS)), axis=1)  # a shuffle per sentence
    table = np.empty((count, PLANTED_SENTENCE_WORDS), dtype=object)
    table[:, 0] = [entries[i][0] for i in chosen.tolist()]
    table[:, 1:3] = [[entries[i][1][k] for k in picks] for i, picks in zip(chosen.tolist(), identity_picks.tolist())]
    table[:, 3] = [entries[i][2][k] for i, k in zip(chosen.tolist(), side_picks.tolist())]
    table[:, 4:] = fillers
    shuffled = np.take_along_axis(table, order, axis=1)
    return Corpus("planted", tuple(map(tuple, shuffled.tolist())), planted_analogies(), ())


def tokenize(text: str) -> list[str]:
    """gensim's `simple_preprocess`: lower case, letters only, tokens of 2-15 characters."""
    return simple_preprocess(text)


@lru_cache(maxsize=1)
def lee_corpus() -> Corpus:
    """The Lee background corpus, one story per line, with the Google analogies and WordSim-353."""
    lines = Path(datapath("lee_background.cor")).read_text(encoding="utf-8").splitlines()
    documents = tuple(tuple(tokenize(line)) for line in lines if line.strip())
    return Corpus("lee", documents, google_analogies(), wordsim353())


def google_analogies() -> tuple[Analogy, ...]:
    """questions-words.txt: `: section` lines, then `a b c d` lines, lower-cased."""
    out, section = [], ""
    for line in Path(datapath("questions-words.txt")).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
        elif line.strip():
            a, b, c, d = line.lower().split()
            out.append(Analogy(section, a, b, c, d))
    return tuple(out)


def wordsim353() -> tuple[tuple[str, str, float], ...]:
    with open(datapath("wordsim353.tsv"), encoding="utf-8") as file:
        rows = [row for row in csv.reader(file, delimiter="\t") if row and not row[0].startswith("#")]
    return tuple((a.lower(), b.lower(), float(score)) for a, b, score in rows)


def load_corpus(name: str, tokens: int, seed: int) -> Corpus:
    """The corpus a config names; `tokens` and `seed` shape only the planted one."""
    return planted_corpus(tokens, seed) if name == "planted" else lee_corpus()
