import numpy as np
import pytest

from charrnn.corpus.streams import Corpus, CorpusError, Streams, fit_batch_size, split_sizes, unigram_entropy
from charrnn.corpus.corpora import python_docs_text
from charrnn.ground.vocab import UnknownCharacters, Vocab


def test_vocab_is_sorted_code_points_and_round_trips_any_script():
    text = "猫が好き。cats, 猫!"
    v = Vocab.from_text(text)
    assert v.chars == sorted(set(text))
    assert v.decode(v.encode(text)) == text
    assert Vocab.from_text(text[::-1]).chars == v.chars  # order of appearance does not matter


def test_vocab_uses_compact_ids():
    assert Vocab.from_text("abc").encode("abcabc").dtype == np.uint8
    big = "".join(chr(0x4E00 + i) for i in range(3000))
    v = Vocab.from_text(big)
    assert v.encode(big).dtype == np.uint16
    assert v.decode(v.encode(big[::7])) == big[::7]


def test_unknown_characters_are_listed_or_dropped():
    v = Vocab.from_text("hello")
    with pytest.raises(UnknownCharacters) as e:
        v.encode("help!")
    assert e.value.chars == ["!", "p"]
    assert v.decode(v.encode("help!", unknown="drop")) == "hel"


def test_split_matches_nanogpt_on_tinyshakespeare_sizes():
    assert split_sizes(1_115_394, 0.1) == (1_003_854, 111_540)


def test_the_validation_split_is_the_last_tenth_of_the_text():
    text = python_docs_text()
    c = Corpus.from_text(text)
    n_train, n_val = split_sizes(len(text), 0.1)
    assert (len(c.train), len(c.val)) == (n_train, n_val)
    assert c.vocab.decode(c.val) == text[n_train:] and c.vocab.decode(c.train[-50:]) == text[n_train - 50 : n_train]


def test_streams_are_contiguous_and_windows_continue_each_other():
    ids = np.arange(103, dtype=np.uint16)
    s = Streams(ids, batch_size=3, seq_len=10)  # 3 streams of 34 characters
    w0, w1 = s.window(0), s.window(1)
    assert w0.shape == (11, 3)
    assert list(w0[:, 1]) == list(range(34, 45))
    assert w1[0, 1] == w0[-1, 1]  # window 1 starts where window 0 ended: state can carry
    assert s.windows_per_epoch == 3


def test_fit_batch_size():
    assert fit_batch_size(1000, 32, 100) == 9
    assert fit_batch_size(100_000, 32, 100) == 32
    with pytest.raises(CorpusError, match="--seq-len"):
        fit_batch_size(50, 32, 100)


def test_unigram_entropy():
    assert unigram_entropy(np.array([0, 1, 0, 1]), 3) == pytest.approx(np.log(2))


def test_one_character_vocabulary_is_refused():
    with pytest.raises(CorpusError, match="distinct"):
        Corpus.from_text("aaaaaaaa")
