//! `torch.utils.data.DistributedSampler` for in-memory datasets: every rank gets a disjoint
//! shard, reshuffled each epoch from `seed + epoch`, padded (by wrapping around) so every rank
//! has the same number of samples and therefore runs the same number of steps.

/// Which sample indices one rank visits in one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedSampler {
    pub len: usize,
    pub world_size: usize,
    pub rank: usize,
    pub shuffle: bool,
    pub seed: u64,
}

impl DistributedSampler {
    /// Samples per rank: `ceil(len / world_size)`.
    pub fn per_rank(&self) -> usize {
        self.len.div_ceil(self.world_size)
    }

    pub fn indices(&self, epoch: usize) -> Vec<i64> {
        let mut order: Vec<i64> = (0..self.len as i64).collect();
        if self.shuffle {
            let mut rng = SplitMix64::new(self.seed.wrapping_add(epoch as u64));
            // Fisher-Yates.
            for i in (1..order.len()).rev() {
                let j = (rng.next() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        let total = self.per_rank() * self.world_size;
        let mut padded = order.clone();
        while padded.len() < total {
            let missing = total - padded.len();
            padded.extend_from_slice(&order[..missing.min(order.len())]);
        }
        padded.into_iter().skip(self.rank).step_by(self.world_size).collect()
    }
}

/// A small, fast, well-mixed generator; reproducible across platforms.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(len: usize, world_size: usize, rank: usize) -> DistributedSampler {
        DistributedSampler { len, world_size, rank, shuffle: true, seed: 7 }
    }

    #[test]
    fn ranks_cover_everything_disjointly_with_equal_lengths() {
        let shards: Vec<Vec<i64>> = (0..3).map(|r| sampler(10, 3, r).indices(0)).collect();
        assert!(shards.iter().all(|s| s.len() == 4));
        let mut all: Vec<i64> = shards.concat();
        all.sort();
        all.dedup();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        // 12 slots for 10 samples: exactly two repeats (the padding).
        assert_eq!(shards.concat().len() - all.len(), 2);
    }

    #[test]
    fn reshuffles_per_epoch_and_reproduces_from_seed() {
        let s = sampler(100, 2, 1);
        assert_ne!(s.indices(0), s.indices(1));
        assert_eq!(s.indices(3), sampler(100, 2, 1).indices(3));
        let unshuffled = DistributedSampler { shuffle: false, ..s };
        assert_eq!(unshuffled.indices(5)[..3], [1, 3, 5]);
    }
}
