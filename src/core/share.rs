//! How desk processes on one database divide the offices: each takes at
//! most its fair share, and one holding more than that (it started first,
//! or another desk has joined) hands the surplus over.

use std::collections::BTreeSet;

/// The most offices one of `desks` desks (itself included) should serve.
/// Rounded up, so the desks' shares together cover every office.
pub fn fair_share(offices: usize, desks: usize) -> usize {
    offices.div_ceil(desks.max(1))
}

/// Which of the offices a desk serves it should hand over to keep to
/// `share`: the last ones in order, so a desk gives up the same offices
/// from one tick to the next.
pub fn surplus(serving: &BTreeSet<String>, share: usize) -> BTreeSet<String> {
    serving.iter().skip(share).cloned().collect()
}

/// Identifies a set of offices, the same in every process: only desks that
/// serve the same offices divide them (a desk started for one office with
/// `--office` does not make the others give up half of theirs). FNV-1a of
/// the sorted ids.
pub fn offices_fingerprint<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    let ids: BTreeSet<&str> = ids.into_iter().collect();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for id in ids {
        for byte in id.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shares_cover_every_office() {
        for offices in 0..60 {
            for desks in 1..8 {
                assert!(fair_share(offices, desks) * desks >= offices);
                assert!(fair_share(offices, desks) <= offices.max(1));
            }
        }
        assert_eq!(fair_share(50, 2), 25);
        assert_eq!(fair_share(3, 2), 2);
        assert_eq!(fair_share(544, 0), 544);
    }

    #[test]
    fn the_surplus_is_the_last_offices_beyond_the_share() {
        let serving = set(&["a", "b", "c", "d"]);
        assert_eq!(surplus(&serving, 2), set(&["c", "d"]));
        assert_eq!(surplus(&serving, 4), set(&[]));
        assert_eq!(surplus(&serving, 9), set(&[]));
    }

    #[test]
    fn the_fingerprint_depends_on_the_set_not_its_order() {
        assert_eq!(
            offices_fingerprint(["o1", "o2"]),
            offices_fingerprint(["o2", "o1"])
        );
        assert_ne!(
            offices_fingerprint(["o1"]),
            offices_fingerprint(["o1", "o2"])
        );
        // Ids are separated: "ab"+"c" is not "a"+"bc".
        assert_ne!(
            offices_fingerprint(["ab", "c"]),
            offices_fingerprint(["a", "bc"])
        );
    }
}
