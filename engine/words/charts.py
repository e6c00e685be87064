"""The Word vectors page's charts, by name: what a preset's `key_chart` may name when it opens on that page,
and the quantities a Gallery card can plot from a words preview (engine/words/previews.py).
"""

from __future__ import annotations

# A card's quantities: curves over the steps, per run, in plain words (the card's caption).
WORDS_CURVES = {
    "analogy_accuracy": "Analogy accuracy (share of the questions answered right)",
    "loss": "Training loss (negative sampling, mean per example)",
    "wordsim_spearman": "WordSim-353: Spearman correlation with human similarity scores",
}
# chart name -> (its heading on the page, the card quantities it plots; the first is a card's default)
WORDS_CHARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "words_map": ("Map of the vocabulary", ()),
    "words_analogies": ("Analogy accuracy over time", ("analogy_accuracy", "wordsim_spearman")),
    "words_loss": ("Loss over time", ("loss",)),
    "words_neighbours": ("Nearest neighbours", ()),
    "words_logits": ("Logits of true pairs and negatives", ()),
    "words_norms": ("Vector lengths", ()),
    "words_example": ("One training example, step by step", ()),
}
