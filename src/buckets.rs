//! Aging buckets (账龄 / 逾期分档) are data, not code.
//!
//! A [`Buckets`] value is a list of DPD ranges that covers `0..∞` with no
//! gap and no overlap; the constructors guarantee that, so [`Buckets::label`]
//! always finds exactly one bucket. Two lists are built in
//! ([`Buckets::default_days`], [`Buckets::m_buckets`]); a bank's own list is
//! parsed from a spec such as `"0,1-30,31-90,91+"` or
//! `"current:0,1-30,31-90,91+"` (a `label:` prefix is optional; without one
//! the range as written is the label). Ranges may be given in any order;
//! they are kept sorted by `min_dpd`.

use std::fmt;

/// One DPD range, inclusive at both ends; `max_dpd = None` is open-ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub label: String,
    pub min_dpd: u32,
    pub max_dpd: Option<u32>,
}

impl Bucket {
    fn new(label: &str, min_dpd: u32, max_dpd: Option<u32>) -> Bucket {
        Bucket {
            label: label.to_string(),
            min_dpd,
            max_dpd,
        }
    }

    /// Whether `dpd` falls in this bucket.
    pub fn contains(&self, dpd: u32) -> bool {
        dpd >= self.min_dpd && self.max_dpd.is_none_or(|m| dpd <= m)
    }

    fn range_text(&self) -> String {
        match self.max_dpd {
            None => format!("{}+", self.min_dpd),
            Some(m) if m == self.min_dpd => format!("{m}"),
            Some(m) => format!("{}-{m}", self.min_dpd),
        }
    }
}

/// A validated list of buckets covering every DPD exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets(Vec<Bucket>);

impl Buckets {
    /// `current` (0), `1-30`, `31-60`, `61-90`, `91-180`, `181-360`,
    /// `360+` (361 and up).
    pub fn default_days() -> Buckets {
        Buckets(vec![
            Bucket::new("current", 0, Some(0)),
            Bucket::new("1-30", 1, Some(30)),
            Bucket::new("31-60", 31, Some(60)),
            Bucket::new("61-90", 61, Some(90)),
            Bucket::new("91-180", 91, Some(180)),
            Bucket::new("181-360", 181, Some(360)),
            Bucket::new("360+", 361, None),
        ])
    }

    /// `M0` (0), `M1` (1-30), `M2` (31-60) … `M6` (151-180), `M6+` (181+).
    pub fn m_buckets() -> Buckets {
        let mut v = vec![Bucket::new("M0", 0, Some(0))];
        for k in 1..=6u32 {
            v.push(Bucket::new(
                &format!("M{k}"),
                (k - 1) * 30 + 1,
                Some(k * 30),
            ));
        }
        v.push(Bucket::new("M6+", 181, None));
        Buckets(v)
    }

    /// `"days"` or `"m"` (case-insensitive).
    pub fn from_name(name: &str) -> Result<Buckets, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "days" => Ok(Buckets::default_days()),
            "m" => Ok(Buckets::m_buckets()),
            other => Err(format!(
                "unknown bucket set {other:?} (expected \"days\", \"m\" or a spec like \"0,1-30,31-90,91+\")"
            )),
        }
    }

    /// A built-in name (`days`, `m`) or else a spec for [`Buckets::parse`].
    pub fn resolve(name_or_spec: &str) -> Result<Buckets, String> {
        Buckets::from_name(name_or_spec).or_else(|_| Buckets::parse(name_or_spec))
    }

    /// Parses a spec like `"0,1-30,31-90,91+"` or `"current:0,1-30,31-90,91+"`.
    /// Each item is `[label:]range` with range `N`, `A-B` or `A+`. The
    /// ranges must cover every DPD from 0 up, with no gap or overlap; the
    /// open-ended range must come last; labels must be unique.
    pub fn parse(spec: &str) -> Result<Buckets, String> {
        let mut v: Vec<Bucket> = Vec::new();
        for raw in spec.split(',') {
            let item = raw.trim();
            if item.is_empty() {
                return Err(format!("empty bucket in {spec:?}"));
            }
            let (label, range) = match item.split_once(':') {
                Some((l, r)) => {
                    let l = l.trim();
                    if l.is_empty() {
                        return Err(format!("bucket {item:?} has an empty label"));
                    }
                    (l.to_string(), r.trim())
                }
                None => (item.to_string(), item),
            };
            let num = |s: &str| -> Result<u32, String> {
                s.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("bucket {item:?}: {:?} is not a day count", s.trim()))
            };
            let (min, max) = if let Some(open) = range.strip_suffix('+') {
                (num(open)?, None)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("bucket {item:?}: range starts after it ends"));
                }
                (a, Some(b))
            } else {
                let n = num(range)?;
                (n, Some(n))
            };
            if v.iter().any(|b| b.label == label) {
                return Err(format!("bucket label {label:?} is used twice"));
            }
            v.push(Bucket {
                label,
                min_dpd: min,
                max_dpd: max,
            });
        }
        v.sort_by_key(|b| b.min_dpd);
        let first = v.first().ok_or_else(|| "no buckets".to_string())?;
        if first.min_dpd != 0 {
            return Err(format!(
                "buckets must start at 0 dpd; the lowest is {:?} from {}",
                first.label, first.min_dpd
            ));
        }
        for w in v.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            match a.max_dpd {
                None => {
                    return Err(format!(
                        "bucket {:?} is open-ended ({}+) but {:?} starts after it at {}",
                        a.label, a.min_dpd, b.label, b.min_dpd
                    ))
                }
                Some(m) if b.min_dpd <= m => {
                    return Err(format!(
                        "buckets {:?} and {:?} overlap at {} dpd",
                        a.label, b.label, b.min_dpd
                    ))
                }
                Some(m) if b.min_dpd > m + 1 => {
                    return Err(format!(
                        "gap between buckets {:?} and {:?}: {} dpd not covered",
                        a.label,
                        b.label,
                        if b.min_dpd - 1 == m + 1 {
                            format!("{}", m + 1)
                        } else {
                            format!("{}-{}", m + 1, b.min_dpd - 1)
                        }
                    ))
                }
                Some(_) => {}
            }
        }
        let last = v.last().ok_or_else(|| "no buckets".to_string())?;
        if let Some(m) = last.max_dpd {
            return Err(format!(
                "the last bucket {:?} ends at {m} dpd; it must be open-ended like \"{}+\"",
                last.label,
                m.saturating_add(1)
            ));
        }
        Ok(Buckets(v))
    }

    /// The buckets, sorted by `min_dpd`.
    pub fn as_slice(&self) -> &[Bucket] {
        &self.0
    }

    /// Labels in order (for report columns).
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|b| b.label.as_str())
    }

    /// Index of the bucket holding `dpd`.
    pub fn index(&self, dpd: u32) -> usize {
        // Sorted and gapless: the last bucket starting at or below dpd.
        self.0
            .partition_point(|b| b.min_dpd <= dpd)
            .saturating_sub(1)
    }

    /// Label of the bucket holding `dpd`.
    pub fn label(&self, dpd: u32) -> &str {
        self.0.get(self.index(dpd)).map_or("", |b| b.label.as_str())
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets::default_days()
    }
}

/// Renders the spec form, e.g. `current:0,1-30,…,360+:361+`; parses back
/// to the same buckets.
impl fmt::Display for Buckets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, b) in self.0.iter().enumerate() {
            if k > 0 {
                f.write_str(",")?;
            }
            let range = b.range_text();
            if b.label == range {
                f.write_str(&range)?;
            } else {
                write!(f, "{}:{range}", b.label)?;
            }
        }
        Ok(())
    }
}

/// Short-/long-term overdue class: `""` for 0, `"short"` for 1..=30,
/// `"long"` above 30.
pub fn term_class(dpd: u32) -> &'static str {
    match dpd {
        0 => "",
        1..=30 => "short",
        _ => "long",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_days_every_boundary() {
        let b = Buckets::default_days();
        let cases: &[(u32, &str)] = &[
            (0, "current"),
            (1, "1-30"),
            (30, "1-30"),
            (31, "31-60"),
            (60, "31-60"),
            (61, "61-90"),
            (90, "61-90"),
            (91, "91-180"),
            (180, "91-180"),
            (181, "181-360"),
            (360, "181-360"),
            (361, "360+"),
            (u32::MAX, "360+"),
        ];
        for &(dpd, label) in cases {
            assert_eq!(b.label(dpd), label, "dpd {dpd}");
            assert!(b.as_slice()[b.index(dpd)].contains(dpd));
        }
    }

    #[test]
    fn m_buckets_every_boundary() {
        let b = Buckets::m_buckets();
        let cases: &[(u32, &str)] = &[
            (0, "M0"),
            (1, "M1"),
            (30, "M1"),
            (31, "M2"),
            (60, "M2"),
            (61, "M3"),
            (90, "M3"),
            (91, "M4"),
            (120, "M4"),
            (121, "M5"),
            (150, "M5"),
            (151, "M6"),
            (180, "M6"),
            (181, "M6+"),
            (u32::MAX, "M6+"),
        ];
        for &(dpd, label) in cases {
            assert_eq!(b.label(dpd), label, "dpd {dpd}");
        }
        assert_eq!(b.labels().count(), 8);
    }

    #[test]
    fn names() {
        assert_eq!(Buckets::from_name("days").unwrap(), Buckets::default_days());
        assert_eq!(Buckets::from_name("M").unwrap(), Buckets::m_buckets());
        assert!(Buckets::from_name("weeks").unwrap_err().contains("weeks"));
        assert_eq!(Buckets::resolve("m").unwrap(), Buckets::m_buckets());
        assert_eq!(Buckets::resolve("0,1+").unwrap().label(5), "1+");
        assert_eq!(Buckets::default(), Buckets::default_days());
    }

    #[test]
    fn parse_bank_lists() {
        let b = Buckets::parse("0,1-30,31-90,91+").unwrap();
        let cases: &[(u32, &str)] = &[
            (0, "0"),
            (1, "1-30"),
            (30, "1-30"),
            (31, "31-90"),
            (90, "31-90"),
            (91, "91+"),
        ];
        for &(dpd, label) in cases {
            assert_eq!(b.label(dpd), label, "dpd {dpd}");
        }
        let b = Buckets::parse(" current:0 , 1-30, late : 31-90 ,91+").unwrap();
        assert_eq!(b.label(0), "current");
        assert_eq!(b.label(45), "late");
        assert_eq!(b.label(91), "91+");
        // Out of order is fine.
        let b = Buckets::parse("91+,0,31-90,1-30").unwrap();
        assert_eq!(b.label(31), "31-90");
        // A single open bucket covers everything.
        assert_eq!(Buckets::parse("all:0+").unwrap().label(7), "all");
        // Display round-trips.
        for b in [Buckets::default_days(), Buckets::m_buckets()] {
            assert_eq!(Buckets::parse(&b.to_string()).unwrap(), b);
        }
        assert_eq!(
            Buckets::parse("0,1-30,31+").unwrap().to_string(),
            "0,1-30,31+"
        );
    }

    #[test]
    fn parse_errors_name_the_problem() {
        let cases: &[(&str, &str)] = &[
            ("", "empty bucket"),
            ("0,,1+", "empty bucket"),
            ("1-30,31+", "start at 0"),
            ("0,1-30,32+", "31 dpd not covered"),
            ("0,1-30,40+", "31-39 dpd not covered"),
            ("0,1-30,30+", "overlap at 30"),
            ("0,1-30,20-40,41+", "overlap at 20"),
            ("0,1-30,31-90", "must be open-ended"),
            ("0,1+,31+", "open-ended"),
            ("0,30-1,31+", "starts after it ends"),
            ("0,a-30,31+", "\"a\" is not a day count"),
            ("0,-5,31+", "not a day count"),
            (":0,1+", "empty label"),
            ("x:0,x:1+", "used twice"),
        ];
        for &(spec, want) in cases {
            let err = Buckets::parse(spec).unwrap_err();
            assert!(err.contains(want), "{spec:?}: {err}");
        }
    }

    #[test]
    fn term_classes() {
        let cases: &[(u32, &str)] = &[
            (0, ""),
            (1, "short"),
            (30, "short"),
            (31, "long"),
            (u32::MAX, "long"),
        ];
        for &(dpd, class) in cases {
            assert_eq!(term_class(dpd), class, "dpd {dpd}");
        }
    }
}
