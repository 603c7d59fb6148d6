//! The order in which the sides of a measurement take turns within a run,
//! slice by slice, so that a change in the machine's speed falls on every
//! side alike: on these machines one side's rate moves by a fifth within
//! a minute, more than most differences measured.

/// The slices one side's measured time of a run is cut into.
pub const SLICES: u32 = 6;

/// The sides (`0..sides`) in the order they take their `slices` turns in
/// run `run`: the run's first side turns with the run, and every other
/// round goes backwards (ABC CBA ABC ...), so that each side is as often
/// early in a pair of rounds as late.
pub fn order(sides: usize, run: usize, slices: u32) -> impl Iterator<Item = usize> {
    (0..slices as usize).flat_map(move |round| {
        (0..sides).map(move |step| {
            let at = if round % 2 == 0 {
                step
            } else {
                sides - 1 - step
            };
            (at + run) % sides
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_side_takes_every_slice_and_the_first_turns_with_the_run() {
        let turns: Vec<usize> = order(3, 0, 2).collect();
        assert_eq!(turns, [0, 1, 2, 2, 1, 0]);
        let turns: Vec<usize> = order(3, 1, 2).collect();
        assert_eq!(turns, [1, 2, 0, 0, 2, 1]);
        for run in 0..4 {
            let turns: Vec<usize> = order(4, run, SLICES).collect();
            for side in 0..4 {
                assert_eq!(
                    turns.iter().filter(|&&s| s == side).count(),
                    SLICES as usize,
                    "run {run}, side {side}: {turns:?}"
                );
            }
        }
    }
}
