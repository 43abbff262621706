//! Figures for the public yearly earnings disclosure of a program (DESIGN §6 rule 6), so that
//! anyone considering joining sees what typical advocates really earn.

use serde::Serialize;

use crate::money::div_round_half_even;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EarningsDisclosure {
    /// People enrolled in the program during the year.
    pub enrolled: u64,
    /// Share of them whose net earnings were zero or negative, in basis points (10000 = everyone),
    /// rounded half to even.
    pub earning_nothing_share_bp: u32,
    /// Median net earnings in minor units; for an even count, the mean of the two middle values
    /// rounded half to even.
    pub median_minor: i64,
    /// 90th percentile by the nearest-rank method: the ⌈0.9·n⌉-th smallest value.
    pub p90_minor: i64,
}

/// Summarises one entry per enrolled person (net yearly earnings in minor units, zero for those
/// who earned nothing). With nobody enrolled every figure is zero; pages show `enrolled` first.
pub fn earnings_disclosure(yearly_earnings_minor: &[i64]) -> EarningsDisclosure {
    let mut sorted = yearly_earnings_minor.to_vec();
    sorted.sort_unstable();
    let count = sorted.len();
    if count == 0 {
        return EarningsDisclosure {
            enrolled: 0,
            earning_nothing_share_bp: 0,
            median_minor: 0,
            p90_minor: 0,
        };
    }
    let earning_nothing = sorted.iter().filter(|&&amount| amount <= 0).count();
    // Lengths of in-memory slices always fit i128 and u64.
    let count_i128 = count as i128;
    let share = div_round_half_even(earning_nothing as i128 * 10_000, count_i128);

    let middle = count / 2;
    let median = if count % 2 == 1 {
        sorted[middle]
    } else {
        let sum = i128::from(sorted[middle - 1]) + i128::from(sorted[middle]);
        // The mean of two i64 values lies between them, so it fits i64.
        clamp_to_i64(div_round_half_even(sum, 2))
    };

    // Nearest rank: ⌈9n/10⌉, 1-based, so between 1 and n.
    let p90_rank = (count * 9).div_ceil(10);
    let p90 = sorted[p90_rank - 1];

    EarningsDisclosure {
        enrolled: count as u64,
        earning_nothing_share_bp: u32::try_from(share).unwrap_or(10_000),
        median_minor: median,
        p90_minor: p90,
    }
}

fn clamp_to_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nobody_enrolled() {
        assert_eq!(
            earnings_disclosure(&[]),
            EarningsDisclosure {
                enrolled: 0,
                earning_nothing_share_bp: 0,
                median_minor: 0,
                p90_minor: 0
            }
        );
    }

    #[test]
    fn one_person() {
        let d = earnings_disclosure(&[1234]);
        assert_eq!((d.enrolled, d.earning_nothing_share_bp), (1, 0));
        assert_eq!((d.median_minor, d.p90_minor), (1234, 1234));
        let d = earnings_disclosure(&[0]);
        assert_eq!(d.earning_nothing_share_bp, 10_000);
    }

    #[test]
    fn odd_count() {
        let d = earnings_disclosure(&[500, 0, 0, 9000, 100]);
        assert_eq!(d.enrolled, 5);
        assert_eq!(d.earning_nothing_share_bp, 4000);
        assert_eq!(d.median_minor, 100);
        assert_eq!(d.p90_minor, 9000); // ⌈4.5⌉ = 5th
    }

    #[test]
    fn even_count_median_rounds_half_to_even() {
        // middle values 1 and 2 → 1.5 → 2
        assert_eq!(earnings_disclosure(&[0, 1, 2, 10]).median_minor, 2);
        // middle values 2 and 3 → 2.5 → 2
        assert_eq!(earnings_disclosure(&[3, 2]).median_minor, 2);
        // middle values -3 and 0 → -1.5 → -2
        assert_eq!(earnings_disclosure(&[-3, 0]).median_minor, -2);
        assert_eq!(
            earnings_disclosure(&[i64::MAX, i64::MAX]).median_minor,
            i64::MAX
        );
        assert_eq!(earnings_disclosure(&[i64::MIN, i64::MAX]).median_minor, 0); // -0.5 → 0
    }

    #[test]
    fn p90_nearest_rank() {
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(earnings_disclosure(&ten).p90_minor, 9); // ⌈9⌉ = 9th
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(earnings_disclosure(&eleven).p90_minor, 10); // ⌈9.9⌉ = 10th
        let twenty: Vec<i64> = (1..=20).collect();
        assert_eq!(earnings_disclosure(&twenty).p90_minor, 18);
    }

    #[test]
    fn share_counts_net_losses_as_nothing_and_rounds() {
        let d = earnings_disclosure(&[-50, 0, 10]);
        assert_eq!(d.earning_nothing_share_bp, 6667); // 2/3 = 6666.67 bp
        let d = earnings_disclosure(&[0, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(d.earning_nothing_share_bp, 1250);
    }

    proptest! {
        #[test]
        fn figures_are_consistent(values in prop::collection::vec(any::<i64>(), 1..200)) {
            let d = earnings_disclosure(&values);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            prop_assert_eq!(d.enrolled, values.len() as u64);
            prop_assert!(d.earning_nothing_share_bp <= 10_000);
            prop_assert!(sorted[0] <= d.median_minor && d.median_minor <= sorted[sorted.len() - 1]);
            prop_assert!(sorted.contains(&d.p90_minor));
            // At least 90 % of values are ≤ p90.
            let at_or_below = sorted.iter().filter(|&&v| v <= d.p90_minor).count();
            prop_assert!(at_or_below * 10 >= values.len() * 9);
        }
    }
}
