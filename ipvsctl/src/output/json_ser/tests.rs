//! The serializer against serde_json's `to_writer_pretty`, byte for byte: every shape of serde's
//! data model, strings with every escape at every place of the eight-byte words, floats of
//! every kind, and random `serde_json::Value` trees.

use std::collections::BTreeMap;
use std::fmt::{self, Debug, Display};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Value};

use super::*;

/// What ours writes, and whether it failed.
fn ours<T: ?Sized + Serialize>(v: &T) -> (Vec<u8>, bool) {
    let mut out = Chunked::keep();
    let ok = write_pretty(v, &mut out).is_ok();
    (out.into_bytes(), ok)
}

/// What serde_json writes, and whether it failed.
fn theirs<T: ?Sized + Serialize>(v: &T) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let ok = serde_json::to_writer_pretty(&mut out, v).is_ok();
    (out, ok)
}

/// The same bytes and the same success (the bytes before a failure too).
#[track_caller]
fn same<T: ?Sized + Serialize + Debug>(v: &T) {
    let (o, t) = (ours(v), theirs(v));
    assert!(
        o == t,
        "{v:?}\nours ({}):\n{}\ntheirs ({}):\n{}",
        o.1,
        String::from_utf8_lossy(&o.0),
        t.1,
        String::from_utf8_lossy(&t.0)
    );
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'t, T>(&mut self, from: &'t [T]) -> &'t T {
        &from[self.below(from.len())]
    }
}

/// Characters around every escaping rule: the escaped ones, their neighbours, and non-ASCII of
/// every UTF-8 length.
const CHARS: &[char] = &[
    'a',
    'Z',
    '0',
    ' ',
    '!',
    '#',
    '/',
    '[',
    ']',
    '{',
    '}',
    ':',
    ',',
    '"',
    '\\',
    '\u{0}',
    '\u{1}',
    '\u{7}',
    '\u{8}',
    '\t',
    '\n',
    '\u{b}',
    '\u{c}',
    '\r',
    '\u{e}',
    '\u{1b}',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    'é',
    'ÿ',
    '€',
    '\u{2028}',
    '\u{feff}',
    '\u{fffd}',
    '😀',
    '\u{10ffff}',
];

fn random_string(rng: &mut Rng) -> String {
    let len = rng.below(41);
    // Mostly plain text with the odd special character, as the words the documents hold.
    let plain = rng.below(3) > 0;
    (0..len)
        .map(|_| {
            if plain && rng.below(8) > 0 {
                char::from(b'a' + rng.below(26) as u8)
            } else {
                *rng.pick(CHARS)
            }
        })
        .collect()
}

const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    0.1,
    -0.1,
    1.0,
    -1.0,
    1.5,
    100.0,
    1e15,
    1e16,
    1e17,
    1e21,
    1e22,
    1e300,
    -1e300,
    1e-7,
    1e-300,
    5e-324,
    f64::MIN_POSITIVE,
    f64::MAX,
    f64::MIN,
    f64::EPSILON,
    123_456_789.125,
    1_700_000_000.123_456,
    std::f64::consts::PI,
    f64::NAN,
    -f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

fn random_number(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => json!(*rng.pick(&[0i64, -1, 1, i64::MIN, i64::MAX, i64::MIN + 1, -9])),
        1 => json!(*rng.pick(&[0u64, u64::MAX, u64::MAX - 1, 1 << 63, u64::from(u32::MAX)])),
        2 => json!(rng.next() as i64 >> rng.below(64)),
        3 => json!(rng.next() >> rng.below(64)),
        4 => {
            let f = *rng.pick(FLOATS);
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        _ => {
            let f = f64::from_bits(rng.next());
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let leaf = depth == 0 || rng.below(3) == 0;
    match if leaf { rng.below(4) } else { 4 + rng.below(2) } {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => random_number(rng),
        3 => Value::String(random_string(rng)),
        4 => (0..rng.below(5))
            .map(|_| random_value(rng, depth - 1))
            .collect(),
        _ => Value::Object(
            (0..rng.below(5))
                .map(|_| (random_string(rng), random_value(rng, depth - 1)))
                .collect(),
        ),
    }
}

#[test]
fn random_value_trees_are_written_as_serde_json_writes_them() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        same(&random_value(&mut rng, 5));
    }
}

#[test]
fn deep_and_empty_nesting_is_written_as_serde_json_writes_it() {
    // Past the 40 levels of indentation kept at hand.
    let mut deep = json!([]);
    for i in 0..45 {
        deep = json!({ "level": i, "in": [deep, {}, [], [1, {"a": []}], [[]], {"b": {}}] });
    }
    same(&deep);
    same(&json!({"empty": {}, "none": [], "one": [1], "s": "x\"y", "n": null}));
    for v in [
        json!([]),
        json!({}),
        json!(null),
        json!("x"),
        json!(1),
        json!([[[]]]),
    ] {
        same(&v);
    }
}

#[test]
fn every_escape_at_every_place_of_a_word_is_written_as_serde_json_writes_it() {
    for len in 0..26 {
        for at in 0..len.max(1) {
            for c in CHARS.iter().copied().chain((0u8..0x80).map(char::from)) {
                let mut s: Vec<char> = (0..len)
                    .map(|i| char::from(b'a' + (i % 26) as u8))
                    .collect();
                if len > 0 {
                    s[at] = c;
                }
                let s: String = s.into_iter().collect();
                same(&s);
                // As a key too, with and without the key's fast path around it.
                same(&BTreeMap::from([(s.clone(), 1u8), ("k".to_string(), 2)]));
            }
        }
    }
}

/// Every byte below 0x20, `"` and `\`, in each of the eight places among every other byte:
/// the word check answers as the table does.
#[test]
fn word_check_agrees_with_the_escape_table() {
    let by_table = |w: [u8; 8]| w.iter().any(|b| ESCAPE[usize::from(*b)] != 0);
    let fillers = [
        0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xe2, 0xff, 0x41,
    ];
    for b in 0..=255u8 {
        for at in 0..8 {
            for f in fillers {
                let mut w = [f; 8];
                w[at] = b;
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(w)),
                    by_table(w),
                    "{w:?}"
                );
            }
        }
    }
    let mut rng = Rng(7);
    for _ in 0..200_000 {
        let w = rng.next().to_le_bytes();
        assert_eq!(
            word_needs_escape(u64::from_le_bytes(w)),
            by_table(w),
            "{w:?}"
        );
        // Bytes mostly at or near the edges (0x1f/0x20, 0x21-0x23, 0x5b-0x5d).
        let near = [
            0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0xa2, 0xdc, 0x9f, 0x00,
        ];
        let w: [u8; 8] = std::array::from_fn(|_| *rng.pick(&near));
        assert_eq!(
            word_needs_escape(u64::from_le_bytes(w)),
            by_table(w),
            "{w:?}"
        );
    }
}

#[test]
fn random_strings_are_written_as_serde_json_writes_them() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let s = random_string(&mut rng);
        same(&s);
        same(&json!({ s.clone(): [s] }));
    }
}

#[test]
fn floats_are_written_as_serde_json_writes_them() {
    let mut rng = Rng(3);
    let mut doubles: Vec<f64> = FLOATS.to_vec();
    doubles.extend((0..20_000).map(|_| f64::from_bits(rng.next())));
    // Short decimals, as the `--watch` timestamps are.
    doubles.extend((0..2000).map(|i| f64::from(i) / 1000.0 + 1.7e9));
    same(&doubles);
    let mut singles: Vec<f32> = FLOATS.iter().map(|f| *f as f32).collect();
    singles.extend((0..20_000).map(|_| f32::from_bits(rng.next() as u32)));
    same(&singles);
    for f in &doubles {
        same(f);
        same(&Some(*f));
    }
    // As keys: finite ones quoted, NaN and the infinities refused (after the same bytes).
    for f in FLOATS {
        same(&Pairs(vec![(*f, 1)]));
        same(&Pairs(vec![(*f as f32, 1)]));
        same(&Pairs(vec![(1.0, 2), (*f, 1)]));
    }
}

#[test]
fn integers_are_written_as_serde_json_writes_them() {
    same(&(i8::MIN, i8::MAX, i16::MIN, i16::MAX, i32::MIN, i32::MAX));
    same(&(
        i64::MIN,
        i64::MAX,
        u8::MAX,
        u16::MAX,
        u32::MAX,
        u64::MAX,
        0u64,
    ));
    same(&(i128::MIN, i128::MAX, u128::MAX, 0i128, -1i128));
    same(&Pairs(vec![(i128::MIN, 1), (i128::MAX, 2)]));
    same(&Pairs(vec![(u128::MAX, 1)]));
    same(&Pairs(vec![(i8::MIN, 1), (-1, 2)]));
    same(&Pairs(vec![(u64::MAX, 1), (0, 2)]));
    same(&Pairs(vec![(true, 1), (false, 2)]));
    same(&Pairs(vec![('"', 1), ('é', 2), ('\n', 3)]));
    // Unsigned integers are written by ours (not `itoa`): every number of digits at its
    // edges, in every width, and random ones of every length.
    let mut edges = vec![0u64, 1, u64::MAX, u64::MAX - 1];
    let mut p = 1u64;
    while let Some(next) = p.checked_mul(10) {
        edges.extend([p - 1, p, p + 1, next - 1, 2 * p, 5 * p + 3]);
        p = next;
    }
    edges.extend([p - 1, p, p + 1]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        edges.push(rng.next() >> rng.below(64));
    }
    same(&edges);
    for v in edges {
        same(&(v as u8, v as u16, v as u32, v, Some(v)));
    }
}

/// A map of any keys, written with `serialize_entry`.
#[derive(Debug)]
struct Pairs<K, V>(Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for Pairs<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A map written with `serialize_key` and `serialize_value`, its length not told.
#[derive(Debug)]
struct KeysThenValues<K, V>(Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for KeysThenValues<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in &self.0 {
            m.serialize_key(k)?;
            m.serialize_value(v)?;
        }
        m.end()
    }
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
enum Word {
    Plain,
    #[serde(rename = "we\"ird")]
    Weird,
}

#[derive(Debug, Serialize)]
struct Id(String);

#[derive(Debug, Serialize)]
enum Shape {
    Unit,
    Newtype(u8),
    NewtypeEmpty(Vec<u8>),
    Tuple(u8, String),
    EmptyTuple(),
    Struct {
        a: u8,
        b: Vec<u8>,
    },
    EmptyStruct {},
    #[serde(rename = "re\\named")]
    Renamed {
        x: Option<u8>,
    },
}

#[derive(Debug, Serialize)]
struct UnitStruct;

#[derive(Debug, Serialize)]
struct TupleStruct(i8, Option<i16>);

#[derive(Debug, Serialize)]
struct EmptyStruct {}

#[derive(Debug, Serialize)]
struct Inner {
    k: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    inner: Vec<Shape>,
}

#[derive(Debug, Serialize)]
struct Outer {
    before: u8,
    #[serde(flatten)]
    inner: Inner,
    #[serde(flatten)]
    more: BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maybe: Option<u8>,
    #[serde(rename = "with \"quotes\"\n")]
    odd: (),
    after: Option<Box<Outer>>,
}

/// `serialize_bytes`.
#[derive(Debug)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

/// `collect_str` of a text that comes in pieces, some needing escapes.
#[derive(Debug)]
struct Pieces(&'static str, u32);

impl Display for Pieces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\"{}\n{:>5}", self.0, self.1, self.0)?;
        f.write_str("é")
    }
}

impl Serialize for Pieces {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[test]
fn every_shape_of_serdes_data_model_is_written_as_serde_json_writes_it() {
    same(&());
    same(&UnitStruct);
    same(&TupleStruct(-1, None));
    same(&TupleStruct(1, Some(-300)));
    same(&EmptyStruct {});
    same(&Id("a\u{1}b".into()));
    same(&(true, false, 'x', '"', '\u{1f}', "", None::<u8>, Some("s")));
    let shapes = vec![
        Shape::Unit,
        Shape::Newtype(7),
        Shape::NewtypeEmpty(vec![]),
        Shape::NewtypeEmpty(vec![1, 2]),
        Shape::Tuple(1, "t\\".into()),
        Shape::EmptyTuple(),
        Shape::Struct { a: 1, b: vec![] },
        Shape::Struct { a: 2, b: vec![3] },
        Shape::EmptyStruct {},
        Shape::Renamed { x: None },
    ];
    for s in &shapes {
        same(s);
        same(&[s]);
        same(&Pairs(vec![("k", s)]));
    }
    same(&shapes);
    let outer = Outer {
        before: 1,
        inner: Inner {
            k: "v\t",
            skipped: None,
            inner: shapes,
        },
        more: BTreeMap::from([
            ("m\u{0}".to_string(), json!([1, {"a": "b"}])),
            ("z".to_string(), json!({})),
        ]),
        maybe: Some(3),
        odd: (),
        after: Some(Box::new(Outer {
            before: 2,
            inner: Inner {
                k: "",
                skipped: Some(1),
                inner: vec![],
            },
            more: BTreeMap::new(),
            maybe: None,
            odd: (),
            after: None,
        })),
    };
    same(&outer);
    same(&Bytes(vec![]));
    same(&Bytes(vec![0, 1, 255]));
    same(&[Bytes(vec![]), Bytes(vec![9])]);
    same(&Pieces("a\\b", 1));
    same(&Pieces("", 0));
    same(&Pairs(vec![(Word::Plain, 1), (Word::Weird, 2)]));
    same(&BTreeMap::from([(Word::Plain, Word::Weird)]));
    same(&Pairs(vec![(Id("id\"".into()), 1)]));
    same(&Pairs(vec![(Some("some"), 1)]));
    same(&Pairs(vec![(Pieces("key", 5), Pieces("value", 6))]));
    same(&KeysThenValues(vec![("a", 1), ("b\"", 2)]));
    same(&KeysThenValues(Vec::<(&str, u8)>::new()));
    same(&KeysThenValues(vec![(1u8, "one"), (2, "two")]));
    same(&KeysThenValues(vec![(Pieces("k", 1), ())]));
}

/// A key of either kind, for maps of good and refused keys.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum MaybeKey {
    Good(&'static str),
    Seq(Vec<u8>),
    Unit(()),
    None(Option<u8>),
}

#[test]
fn keys_serde_json_refuses_are_refused_after_the_same_bytes() {
    same(&Pairs(vec![(vec![1u8], 1)]));
    for bad in [
        MaybeKey::Seq(vec![1]),
        MaybeKey::Seq(vec![]),
        MaybeKey::Unit(()),
        MaybeKey::None(None),
    ] {
        same(&Pairs(vec![(MaybeKey::Good("ok"), 1), (bad, 2)]));
    }
    same(&[KeysThenValues(vec![
        (MaybeKey::Good("ok"), 1),
        (MaybeKey::Unit(()), 2),
    ])]);
    same(&Pairs(vec![(MaybeKey::None(Some(5)), 1)]));
    same(&Pairs(vec![(UnitStruct, 1)]));
    same(&Pairs(vec![(Bytes(vec![1]), 1)]));
    same(&Pairs(vec![(Shape::Newtype(1), 1)]));
    same(&Pairs(vec![(Shape::Tuple(1, String::new()), 1)]));
    same(&Pairs(vec![(Shape::Struct { a: 1, b: vec![] }, 1)]));
    same(&Pairs(vec![(Shape::Unit, 1)]));
    same(&Pairs(vec![((1, 2), 1)]));
    same(&Pairs(vec![(TupleStruct(1, None), 1)]));
    same(&Pairs(vec![(BTreeMap::<u8, u8>::new(), 1)]));
    same(&Pairs(vec![(EmptyStruct {}, 1)]));
}

/// Written out by chunks (a sink behind [`Chunked`]), a long document is the same bytes.
#[test]
fn a_document_written_out_by_chunks_is_the_same_bytes() {
    let mut rng = Rng(11);
    let doc: Vec<Value> = (0..3000).map(|_| random_value(&mut rng, 3)).collect();
    let mut sink = Vec::new();
    let mut out = Chunked::new(&mut sink);
    write_pretty(&doc, &mut out).unwrap();
    out.finish().unwrap();
    assert!(sink.len() > 4 * crate::output::listing::CHUNK);
    assert!(sink == serde_json::to_vec_pretty(&doc).unwrap());
}

/// A struct whose keys are chosen by `pick`: objects of it in a row put different keys (and
/// keys at the same place of memory, of different lengths) at the same place of the
/// serializer's kept key blocks.
#[derive(Debug)]
struct Shifting {
    pick: usize,
    inner: Option<Box<Shifting>>,
}

/// Keys that share their memory: the first n bytes of one `&'static str`.
const SHARED: &str = "keykeykeykeykeykeykeykeykeykeykey";

impl Serialize for Shifting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        const KEYS: &[&str] = &[
            "a",
            "b",
            "we\"ird",
            "back\\slash",
            "ctl\n",
            "a-key-longer-than-twenty-eight-bytes",
            "exactly-twenty-eight-bytes-",
            "ünï",
            "",
        ];
        let n = 2 + self.pick % 3;
        let mut st = s.serialize_struct("Shifting", n + 1)?;
        for i in 0..n {
            let k = (self.pick + i) % (KEYS.len() + 4);
            let key = match KEYS.get(k) {
                Some(key) => key,
                None => &SHARED[..1 + (self.pick + k) % SHARED.len()],
            };
            st.serialize_field(key, &(self.pick * 10 + i))?;
        }
        st.serialize_field("inner", &self.inner)?;
        st.end()
    }
}

#[test]
fn struct_keys_kept_per_place_are_written_as_serde_json_writes_them() {
    // Objects in a row, each with other keys than the one before at the same places, at
    // depths 1 to 40 (kept blocks to depth 15, places modulo 8 deep).
    let mut rng = Rng(7);
    for depth in [1, 2, 7, 8, 9, 15, 16, 17, 24, 40] {
        let row: Vec<Shifting> = (0..200)
            .map(|_| {
                let mut s = Shifting {
                    pick: rng.below(50),
                    inner: None,
                };
                for _ in 1..depth {
                    s = Shifting {
                        pick: rng.below(50),
                        inner: Some(Box::new(s)),
                    };
                }
                s
            })
            .collect();
        same(&row);
    }
    // The same objects twice in a row: the second written from the kept blocks.
    let one = Shifting {
        pick: 3,
        inner: Some(Box::new(Shifting {
            pick: 3,
            inner: None,
        })),
    };
    same(&[&one, &one, &one]);
}
