//! Memos of costly functions of floats (normal masses and CDFs: erfc and logarithms), kept per
//! thread by their users. TPE's kernels and the cells asked about change little from ask to ask,
//! so the same arguments recur; a hit returns what recomputing would, since the value depends on
//! the bits of the arguments alone.

/// A direct-mapped table of (a bits, b bits, value). On the heap: a memo in every thread's static
/// TLS would cost threads that never tune (the local runner's task threads are sized tight).
pub(crate) struct PairMemo {
    entries: Vec<Option<(u64, u64, f64)>>,
}

impl PairMemo {
    /// An empty table of `slots` entries, a power of two of at least 2.
    pub fn new(slots: usize) -> Self {
        assert!(slots.is_power_of_two() && slots > 1);
        PairMemo { entries: vec![None; slots] }
    }

    /// `f(a, b)`, from the table if it holds these arguments.
    pub fn get_or(&mut self, a: f64, b: f64, f: impl FnOnce(f64, f64) -> f64) -> f64 {
        let key = (a.to_bits(), b.to_bits());
        let hash = (key.0 ^ key.1.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // The product's top bits are its best mixed (lower ones collided on Φ's arguments).
        let slot = (hash >> (64 - self.entries.len().trailing_zeros())) as usize;
        match self.entries[slot] {
            Some((ka, kb, value)) if (ka, kb) == key => value,
            _ => {
                let value = f(a, b);
                self.entries[slot] = Some((key.0, key.1, value));
                value
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_and_collisions_give_the_function_value() {
        let mut memo = PairMemo::new(4);
        let f = |a: f64, b: f64| a * 10.0 + b;
        let calls = std::cell::Cell::new(0);
        let counted = |a: f64, b: f64| {
            calls.set(calls.get() + 1);
            f(a, b)
        };
        for round in 0..3 {
            for i in 0..20 {
                let (a, b) = (i as f64, (i % 3) as f64);
                assert_eq!(memo.get_or(a, b, counted), f(a, b), "round {round}, {i}");
            }
        }
        // 20 pairs in 4 slots: most are evicted, but every answer was right; a repeat hits.
        let before = calls.get();
        assert_eq!(memo.get_or(19.0, 1.0, counted), 191.0);
        assert_eq!(calls.get(), before);
    }
}
