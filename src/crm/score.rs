//! Pacemaker scores: integers clamped to ±INFINITY (1,000,000) with saturating addition in
//! which -INFINITY wins, so a ban can never be outweighed by any number of preferences.

use std::fmt;
use std::str::FromStr;

/// The value Pacemaker calls INFINITY.
pub const INFINITY: i64 = 1_000_000;

/// A placement score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Score(i64);

impl Score {
    /// +INFINITY: must.
    pub const INFINITY: Score = Score(INFINITY);
    /// -INFINITY: must not.
    pub const NEG_INFINITY: Score = Score(-INFINITY);
    /// Zero: no preference.
    pub const ZERO: Score = Score(0);

    /// A score from an integer, clamped to ±INFINITY.
    pub fn new(value: i64) -> Score {
        Score(value.clamp(-INFINITY, INFINITY))
    }

    /// The clamped integer value.
    pub fn value(self) -> i64 {
        self.0
    }

    /// True for +INFINITY.
    pub fn is_infinity(self) -> bool {
        self.0 >= INFINITY
    }

    /// True for -INFINITY.
    pub fn is_neg_infinity(self) -> bool {
        self.0 <= -INFINITY
    }

    /// Reads a score the way Pacemaker does for CIB input: `INFINITY`, `+INFINITY`, `-INFINITY`
    /// (any case), `red`/`yellow`/`green` are not supported; a number is read like C `strtoll`
    /// (leading digits, trailing text ignored, so `2.0` is 2); anything else gives `None`.
    pub fn parse_lenient(text: &str) -> Option<Score> {
        let text = text.trim();
        if let Some(score) = parse_infinity(text) {
            return Some(score);
        }
        let bytes = text.as_bytes();
        let mut end = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
        let digits_start = end;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end == digits_start {
            return None;
        }
        let value: i128 = text[..end].parse().ok()?;
        Some(Score::new(
            value.clamp(-(INFINITY as i128), INFINITY as i128) as i64,
        ))
    }
}

fn parse_infinity(text: &str) -> Option<Score> {
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("inf") || is("+inf") || is("infinity") || is("+infinity") {
        Some(Score::INFINITY)
    } else if is("-inf") || is("-infinity") {
        Some(Score::NEG_INFINITY)
    } else {
        None
    }
}

/// Pacemaker's addition: -INFINITY if either side is -INFINITY, else +INFINITY if either side
/// is +INFINITY, else the sum clamped.
impl std::ops::Add for Score {
    type Output = Score;

    fn add(self, other: Score) -> Score {
        if self.0 <= -INFINITY || other.0 <= -INFINITY {
            Score::NEG_INFINITY
        } else if self.0 >= INFINITY || other.0 >= INFINITY {
            Score::INFINITY
        } else {
            Score::new(self.0 + other.0)
        }
    }
}

impl std::ops::AddAssign for Score {
    fn add_assign(&mut self, other: Score) {
        *self = *self + other;
    }
}

/// Strict parsing for user input (crm shell): integers, `inf`, `INFINITY`, `+inf`, `-inf`.
impl FromStr for Score {
    type Err = String;

    fn from_str(text: &str) -> Result<Score, String> {
        if let Some(score) = parse_infinity(text) {
            return Ok(score);
        }
        text.parse::<i64>()
            .map(Score::new)
            .map_err(|_| format!("invalid score {text:?} (expected an integer, inf or -inf)"))
    }
}

/// Prints `INFINITY` / `-INFINITY` for the infinite values, as Pacemaker does.
impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_infinity() {
            f.write_str("INFINITY")
        } else if self.is_neg_infinity() {
            f.write_str("-INFINITY")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl serde::Serialize for Score {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Score {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Score, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_infinity_wins_over_positive_infinity() {
        assert_eq!(Score::INFINITY + Score::NEG_INFINITY, Score::NEG_INFINITY);
        assert_eq!(Score::NEG_INFINITY + Score::INFINITY, Score::NEG_INFINITY);
    }

    #[test]
    fn finite_sums_saturate() {
        assert_eq!(Score::new(999_999) + Score::new(5), Score::INFINITY);
        assert_eq!(Score::new(-999_999) + Score::new(-5), Score::NEG_INFINITY);
        assert_eq!(Score::new(100) + Score::new(-30), Score::new(70));
    }

    #[test]
    fn lenient_parse_reads_like_strtoll() {
        assert_eq!(Score::parse_lenient("2.0"), Some(Score::new(2)));
        assert_eq!(Score::parse_lenient("+INFINITY"), Some(Score::INFINITY));
        assert_eq!(Score::parse_lenient("-infinity"), Some(Score::NEG_INFINITY));
        assert_eq!(Score::parse_lenient("99999999999"), Some(Score::INFINITY));
        assert_eq!(Score::parse_lenient("abc"), None);
    }

    #[test]
    fn strict_parse_accepts_crm_spellings() {
        assert_eq!("inf".parse::<Score>(), Ok(Score::INFINITY));
        assert_eq!("-inf".parse::<Score>(), Ok(Score::NEG_INFINITY));
        assert_eq!("100".parse::<Score>(), Ok(Score::new(100)));
        assert!("1.5".parse::<Score>().is_err());
        assert_eq!(Score::NEG_INFINITY.to_string(), "-INFINITY");
    }
}
