//! tzzr's own count of a prompt's tokens (four characters a token) corrected by what the server
//! reports: a per-agent factor, learnt from each call's real input, kept within sane bounds.

/// The correction never goes outside this range, whatever a server claims.
const MIN_FACTOR: f64 = 0.5;
const MAX_FACTOR: f64 = 4.0;

/// Corrects raw estimates for one agent's model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimator {
    factor: f64,
}

impl Default for Estimator {
    fn default() -> Self {
        Self { factor: 1.0 }
    }
}

impl Estimator {
    /// The corrected count for a raw estimate.
    pub fn correct(&self, raw: u64) -> u64 {
        // f64 holds every count a window can have exactly enough; the cast saturates.
        (raw as f64 * self.factor).ceil() as u64
    }

    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Learns from a call whose prompt tzzr estimated at `raw` tokens and the server counted at
    /// `reported`. An estimate found too low is corrected at once (the next call must fit);
    /// one found too high is relaxed halfway.
    pub fn learn(&mut self, raw: u64, reported: u64) {
        if raw == 0 || reported == 0 {
            return;
        }
        let seen = (reported as f64 / raw as f64).clamp(MIN_FACTOR, MAX_FACTOR);
        self.factor = if seen > self.factor {
            seen
        } else {
            f64::midpoint(self.factor, seen)
        };
    }

    /// The server said the prompt was too long although the estimate said it fitted: count
    /// more from now on.
    pub fn was_too_low(&mut self) {
        self.factor = (self.factor * 1.25).clamp(MIN_FACTOR, MAX_FACTOR);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimate_found_low_is_corrected_at_once_and_one_found_high_halfway() {
        let mut e = Estimator::default();
        e.learn(1_000, 1_500);
        assert_eq!(e.correct(1_000), 1_500);
        e.learn(1_000, 500);
        assert_eq!(e.correct(1_000), 1_000);
    }

    #[test]
    fn a_hostile_usage_report_moves_the_factor_only_within_bounds() {
        let mut e = Estimator::default();
        e.learn(10, u64::MAX);
        assert_eq!(e.factor(), MAX_FACTOR);
        e.learn(u64::MAX, 1);
        assert!(e.factor() >= MIN_FACTOR);
        e.learn(0, 5);
        e.learn(5, 0);
        assert!(e.factor() >= MIN_FACTOR && e.factor() <= MAX_FACTOR);
    }

    #[test]
    fn too_long_answers_raise_the_factor_up_to_its_bound() {
        let mut e = Estimator::default();
        for _ in 0..20 {
            e.was_too_low();
        }
        assert_eq!(e.factor(), MAX_FACTOR);
    }
}
