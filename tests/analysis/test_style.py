"""analysis.style: any objective name gets a label and a colour told apart from the others in
its figure, every colour readable on white. No test pins the palette to the list of presets:
a user's conf/gan/my_gan.yaml must not break the suite."""

import itertools

import pytest

from analysis.style import (
    PALETTE,
    cielab,
    colour,
    colour_distance,
    colours,
    contrast_on_white,
    gan_label,
    order_gans,
    plural,
)

MIN_DISTANCE = 20.0  # CIE76: ~2.3 is just noticeable; 20 reads as a different colour


def test_colour_science_against_published_values():
    # sRGB (D65) -> CIELAB reference values (Bruce Lindbloom's calculator)
    assert cielab("#ffffff") == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert cielab("#000000") == pytest.approx([0.0, 0.0, 0.0], abs=0.01)
    assert cielab("#ff0000") == pytest.approx([53.24, 80.09, 67.20], abs=0.05)
    assert cielab("#0000ff") == pytest.approx([32.30, 79.19, -107.86], abs=0.05)
    # WCAG 2.1: black on white 21:1, #767676 is the lightest grey with 4.5:1
    assert contrast_on_white("#000000") == pytest.approx(21.0)
    assert contrast_on_white("#767676") == pytest.approx(4.54, abs=0.01)


def test_known_objectives_are_apart_and_readable():
    for a, b in itertools.combinations(PALETTE, 2):
        assert colour_distance(PALETTE[a], PALETTE[b]) >= MIN_DISTANCE, (a, b)
    for name, c in PALETTE.items():
        assert contrast_on_white(c) >= 3.0, name  # no yellow on white
    # the pairs the issue found hard to tell apart
    for a, b in (("mm_gan", "cramer_gan"), ("began", "mcgan"), ("fisher_gan", "ns_gan")):
        assert colour_distance(colour(a), colour(b)) >= MIN_DISTANCE


@pytest.mark.parametrize("extra", [["my_gan"], ["my_gan", "hinge_r1_sn", "z", "another_one"]])
def test_any_name_gets_a_label_and_a_distinct_readable_colour(extra):
    names = [*PALETTE, *extra]
    got = colours(names)
    assert list(got) == names
    assert len(set(got.values())) == len(names)
    for a, b in itertools.combinations(names, 2):
        assert colour_distance(got[a], got[b]) >= 10.0, (a, b)
    for name in extra:
        assert contrast_on_white(got[name]) >= 3.0
        assert gan_label(name) and gan_label(name) != ""
    assert colours(list(reversed(names))) == {n: got[n] for n in reversed(names)}  # set only
    assert colour("my_gan") == colour("my_gan") and colour("my_gan") not in PALETTE.values()


def test_many_unknown_objectives_alone_stay_apart():
    names = [f"family_{i}" for i in range(12)]
    got = colours(names)
    assert min(colour_distance(got[a], got[b])
               for a, b in itertools.combinations(names, 2)) >= MIN_DISTANCE


def test_labels_order_and_plural():
    assert gan_label("ns_gan") == "NS GAN" and gan_label("my_gan") == "my GAN"
    assert gan_label("hinge_r1_sn") == "hinge r1 SN"
    assert order_gans(["my_gan", "mcgan", "ns_gan", "hinge_sn"]) == [
        "ns_gan", "hinge_sn", "mcgan", "my_gan"]
    assert (plural(1, "run"), plural(2, "run")) == ("1 run", "2 runs")
