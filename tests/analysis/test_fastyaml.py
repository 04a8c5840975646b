"""analysis.fastyaml gives exactly what flatten(yaml.safe_load(text)) gives, or raises."""

import math
import random

import pytest
import yaml

from analysis.fastyaml import _fast, flat_yaml, flatten
from analysis.synthetic import config_for


def _same(text: str) -> None:
    expected = flatten(yaml.safe_load(text) or {})
    got = flat_yaml(text)
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(got[k])
        else:
            assert got[k] == v and type(got[k]) is type(v), k


@pytest.mark.parametrize("gan", ["ns_gan", "wgan", "wgan_gp", "began"])
@pytest.mark.parametrize("dataset", ["mnist", "ring8"])
def test_run_configs_take_the_fast_path(gan, dataset):
    text = yaml.safe_dump(config_for(gan, dataset, sample=3, lr=1.2345e-5), sort_keys=False)
    _fast(text)  # no fallback for what OmegaConf writes
    _same(text)


TRICKY = [
    "a: 'yes'\nb: yes\nc: 'it''s'\nd: ''\ne: ~\nf: null\ng:\nh: .inf\ni: -.inf\nj: .nan\n",
    "a: 1_000\nb: 0x1A\nc: 0o17\nd: +5\ne: 1e3\nf: 1.0e-05\ng: 3.\nh: 190:20:30\n",
    "a: 2024-01-01\nb: '2024-01-01'\n",
    "a: {}\nb: []\nc: {x: 1, y: [1, 2]}\nd: [a, b]\n",
    "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n",
    "a:\n- 1\n- -2\n- x\nb:\n  - 'q: r'\n  - null\nc: 4\n",
    "# a comment\na: 1\n\n  # indented comment\nb: x#y\n",
    "a: 1  # trailing comment\n",
    "a: |\n  line one\n  line two\nb: >\n  folded\n",
    "a: " + "word " * 40 + "\nb: 1\n",  # long plain strings are folded by the dumper
    "a: 'quoted\n  over two lines'\n",
    'a: "double \\t escaped"\n',
    "a: &x 1\nb: *x\n",
    "a:\n- b: 1\n  c: 2\n",
    "a:\n- - 1\n  - 2\n",
    "yes: 1\n2: b\nnull: c\n",
    "url: http://x.org/a:b\npath: /tmp/a b/c\n",
    "a: b\n  c: d\n",
    "a:\n  b: 1\n c: 2\n",
    "target: ${oc.env:HOME,x}\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_yaml_matches_safe_load(text):
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        with pytest.raises((yaml.YAMLError, ValueError)):
            flat_yaml(text)
        return
    if isinstance(expected, dict) and all(isinstance(k, str) for k in expected):
        _same(text)


def _random_tree(rng: random.Random, depth: int) -> dict:
    scalars = [lambda: rng.randint(-5, 10**6), lambda: rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8),
               lambda: rng.choice([True, False, None, "yes", "no", "on", "1.5", "a b", "x: y",
                                   "", "~", "null", "-1", "é", "#x", "a #b", "0x10"]),
               lambda: [rng.randint(0, 9) for _ in range(rng.randint(0, 3))]]
    tree = {}
    for i in range(rng.randint(1, 6)):
        key = rng.choice(["lr", "gan.lr", "beta_1", "_target_", "n-disc", "x"]) + str(i)
        if depth and rng.random() < 0.35:
            tree[key] = _random_tree(rng, depth - 1)
        else:
            tree[key] = rng.choice(scalars)()
    return tree


def test_random_configs_match_safe_load():
    rng = random.Random(0)
    for _ in range(300):
        tree = _random_tree(rng, 3)
        _same(yaml.safe_dump(tree, sort_keys=rng.random() < 0.5, default_flow_style=False))
        _same(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True))


def test_invalid_documents_raise():
    with pytest.raises(yaml.YAMLError):
        flat_yaml("gan: {name: [unclosed\n")
    with pytest.raises(ValueError, match="not a YAML mapping"):
        flat_yaml("- a\n- b\n")
    assert flat_yaml("") == {}
