//! Scalars read the way v6 read them: PyYAML's YAML 1.1 booleans (`yes`, `Off`, …) and numbers
//! written as strings (v6 did `float(raw["timeout"])`, `int(raw["max_retries"])`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A boolean: `true`/`false` or any of PyYAML's spellings (`yes`, `No`, `ON`, …), or 0/1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag(pub bool);

/// A whole number that fits `T`, written as a number or a numeric string (`"3"`, `3.0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Whole<T>(pub T);

/// A finite number, written as a number or a numeric string (`"0.5"`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Real(pub f64);

/// A non-negative number of seconds, written as a number or a numeric string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub Duration);

/// The words PyYAML (YAML 1.1) reads as booleans; any other spelling is a string there.
fn yaml11_bool(word: &str) -> Option<bool> {
    match word {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// "expected X, found Y": the same shape for every scalar this module reads.
fn mismatch<E: de::Error>(expected: &str, found: impl fmt::Display) -> E {
    E::custom(format_args!("expected {expected}, found {found}"))
}

/// A scalar read as a number, before it is checked against what the field holds.
#[derive(Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

/// Reads any YAML scalar as a number and converts it with `convert` inside the visitor, so
/// serde_yaml places an out-of-range value at the value itself.
struct NumberVisitor<T> {
    expected: String,
    convert: fn(Number) -> Option<T>,
}

impl<T> NumberVisitor<T> {
    fn accept<E: de::Error>(&self, number: Number, found: impl fmt::Display) -> Result<T, E> {
        (self.convert)(number).ok_or_else(|| mismatch(&self.expected, found))
    }
}

impl<'de, T> Visitor<'de> for NumberVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expected)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.accept(Number::Int(i128::from(v)), v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.accept(Number::Int(i128::from(v)), v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if v.is_finite() {
            self.accept(Number::Float(v), v)
        } else {
            Err(mismatch(&self.expected, v))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        let trimmed = v.trim();
        let number = match trimmed.parse::<i128>() {
            Ok(int) => Some(Number::Int(int)),
            Err(_) => trimmed
                .parse::<f64>()
                .ok()
                .filter(|float| float.is_finite())
                .map(Number::Float),
        };
        match number {
            Some(number) => self.accept(number, format_args!("string {v:?}")),
            None => Err(mismatch(&self.expected, format_args!("string {v:?}"))),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        Err(mismatch(&self.expected, v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Err(mismatch(&self.expected, "nothing (null)"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<T, A::Error> {
        Err(mismatch(&self.expected, "a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<T, A::Error> {
        Err(mismatch(&self.expected, "a mapping"))
    }
}

fn number<'de, D, T>(
    de: D,
    expected: String,
    convert: fn(Number) -> Option<T>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    de.deserialize_any(NumberVisitor { expected, convert })
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(FlagVisitor).map(Flag)
    }
}

struct FlagVisitor;

const FLAG_EXPECTED: &str = "true or false (or yes/no, on/off)";

impl<'de> Visitor<'de> for FlagVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FLAG_EXPECTED)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        yaml11_bool(v).ok_or_else(|| mismatch(FLAG_EXPECTED, format_args!("string {v:?}")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(mismatch(FLAG_EXPECTED, v)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(mismatch(FLAG_EXPECTED, v)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        Err(mismatch(FLAG_EXPECTED, v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Err(mismatch(FLAG_EXPECTED, "nothing (null)"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<bool, A::Error> {
        Err(mismatch(FLAG_EXPECTED, "a list"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<bool, A::Error> {
        Err(mismatch(FLAG_EXPECTED, "a mapping"))
    }
}

/// The unsigned integer types a [`Whole`] can hold.
pub trait WholeTarget: Sized + Copy + TryFrom<u64> {
    const MAX: u64;
}

impl WholeTarget for u16 {
    const MAX: u64 = u16::MAX as u64;
}

impl WholeTarget for u32 {
    const MAX: u64 = u32::MAX as u64;
}

impl WholeTarget for u64 {
    const MAX: u64 = u64::MAX;
}

fn whole<T: WholeTarget>(number: Number) -> Option<T> {
    let int = match number {
        Number::Int(int) => int,
        // int(3.0) is 3 in v6; a fraction is almost certainly a mistake, so it is not truncated.
        Number::Float(float) if float.fract() == 0.0 && float.abs() < 1e30 => float as i128,
        Number::Float(_) => return None,
    };
    u64::try_from(int)
        .ok()
        .and_then(|value| T::try_from(value).ok())
}

impl<'de, T: WholeTarget> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let expected = format!("a whole number from 0 to {}", T::MAX);
        number(de, expected, whole::<T>).map(Whole)
    }
}

fn real(number: Number) -> Option<f64> {
    match number {
        Number::Int(int) => Some(int as f64),
        Number::Float(float) => Some(float),
    }
}

impl<'de> Deserialize<'de> for Real {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        number(de, "a number".to_owned(), real).map(Real)
    }
}

fn seconds(number: Number) -> Option<Duration> {
    real(number)
        .filter(|seconds| *seconds >= 0.0)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let expected = "a number of seconds, 0 or more".to_owned();
        number(de, expected, seconds).map(Seconds)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Doc<T> {
        value: T,
    }

    fn read<T: for<'de> Deserialize<'de>>(yaml_value: &str) -> Result<T, String> {
        serde_yaml::from_str::<Doc<T>>(&format!("value: {yaml_value}\n"))
            .map(|doc| doc.value)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_pyyaml_spelling_of_a_boolean_is_a_boolean() {
        for word in [
            "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE", "1",
        ] {
            assert_eq!(read::<Flag>(word), Ok(Flag(true)), "{word}");
        }
        for word in [
            "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE", "0",
        ] {
            assert_eq!(read::<Flag>(word), Ok(Flag(false)), "{word}");
        }
    }

    #[test]
    fn a_word_pyyaml_would_not_read_as_a_boolean_is_an_error() {
        let err = read::<Flag>("yEs").unwrap_err();
        assert!(
            err.starts_with(
                "value: expected true or false (or yes/no, on/off), found string \"yEs\""
            ),
            "{err}"
        );
        assert!(read::<Flag>("y").is_err());
        assert!(read::<Flag>("2").is_err());
    }

    #[test]
    fn whole_numbers_may_be_written_as_strings_or_integral_floats() {
        assert_eq!(read::<Whole<u32>>("3"), Ok(Whole(3)));
        assert_eq!(read::<Whole<u32>>("\"3\""), Ok(Whole(3)));
        assert_eq!(read::<Whole<u32>>("' 7 '"), Ok(Whole(7)));
        assert_eq!(read::<Whole<u32>>("3.0"), Ok(Whole(3)));
        assert_eq!(read::<Whole<u16>>("\"22\""), Ok(Whole(22)));
    }

    #[test]
    fn a_word_a_fraction_or_an_out_of_range_number_is_not_a_whole_number() {
        let err = read::<Whole<u32>>("three").unwrap_err();
        assert!(
            err.starts_with(
                "value: expected a whole number from 0 to 4294967295, found string \"three\""
            ),
            "{err}"
        );
        let err = read::<Whole<u32>>("2.5").unwrap_err();
        assert!(err.contains("found 2.5"), "{err}");
        let err = read::<Whole<u32>>("-1").unwrap_err();
        assert!(err.contains("found -1"), "{err}");
        let err = read::<Whole<u16>>("70000").unwrap_err();
        assert!(
            err.contains("expected a whole number from 0 to 65535, found 70000"),
            "{err}"
        );
    }

    #[test]
    fn seconds_take_numbers_and_numeric_strings_but_not_negatives() {
        assert_eq!(
            read::<Seconds>("300"),
            Ok(Seconds(Duration::from_secs(300)))
        );
        assert_eq!(
            read::<Seconds>("\"1.5\""),
            Ok(Seconds(Duration::from_millis(1500)))
        );
        let err = read::<Seconds>("-1").unwrap_err();
        assert!(
            err.contains("expected a number of seconds, 0 or more, found -1"),
            "{err}"
        );
        assert!(read::<Seconds>(".inf").is_err());
        assert!(read::<Seconds>("\"nan\"").is_err());
    }

    #[test]
    fn reals_take_numbers_and_numeric_strings() {
        assert_eq!(read::<Real>("0.7"), Ok(Real(0.7)));
        assert_eq!(read::<Real>("\"-2\""), Ok(Real(-2.0)));
        let err = read::<Real>("[1]").unwrap_err();
        assert!(err.contains("expected a number, found a list"), "{err}");
    }
}
