//! Medians, spreads and ratios of repeated measurements.

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

/// The smallest and largest of `values`.
pub fn spread(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

/// The `q` quantile (0..=1) of `samples`, nearest rank.
pub fn quantile(samples: &mut [u64], q: f64) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    let rank = (q * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

/// Per-run ratios `a[i] / b[i]`, the runs being interleaved pairs.
pub fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a / b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn spreads_and_ratios() {
        assert_eq!(spread(&[2.0, 5.0, 1.0]), (1.0, 5.0));
        assert_eq!(ratios(&[2.0, 3.0], &[4.0, 3.0]), vec![0.5, 1.0]);
    }

    #[test]
    fn nearest_rank_quantiles() {
        let mut samples: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&mut samples, 0.5), 50);
        assert_eq!(quantile(&mut samples, 0.99), 99);
        assert_eq!(quantile(&mut samples, 1.0), 100);
        assert_eq!(quantile(&mut [], 0.5), 0);
    }
}
