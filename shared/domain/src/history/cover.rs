//! Which stored rows answer a span: the whole days, hours and five-minute buckets inside it come
//! from rollups, and only the ragged edges (under five minutes at each end) from raw samples, so
//! a year's uptime reads a few hundred rows instead of half a million samples.

use super::Range;

/// The widths, in seconds, at which the projector keeps rollups, widest first. Each divides the
/// next wider one, so a span cut at a wider width's boundaries is cut at every narrower one's too.
pub const ROLLUP_STEPS_S: [u32; 3] = [86_400, 3_600, 300];

/// A half-open span of slots, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotSpan {
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Rollups of `step_s` whose bucket starts in `from_ms..to_ms` (both on the step's boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupPiece {
    pub step_s: u32,
    pub span: SlotSpan,
}

/// A span as rollup pieces plus raw edges: disjoint, and together exactly the span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cover {
    pub rollups: Vec<RollupPiece>,
    pub raw: Vec<SlotSpan>,
}

impl Cover {
    /// The cover of every span in `spans` (which must not overlap), in one.
    pub fn of_all(spans: &[SlotSpan]) -> Cover {
        let mut cover = Cover::default();
        for span in spans {
            cover_into(&mut cover, *span, &ROLLUP_STEPS_S);
        }
        cover
    }

    pub fn of(range: &Range) -> Cover {
        Cover::of_all(&[SlotSpan::of(range)])
    }

    /// The cover once raw samples before `raw_from_slot` have expired: an edge that reaches
    /// before it is answered by the five-minute rollups it lies in instead (which may hold a few
    /// minutes more than the span asked for), and any other edge within those buckets is dropped,
    /// since they count it already. Edges are under five minutes, so this only ever matters for a
    /// raw retention that short, or at the very start of the kept history.
    pub fn answerable(mut self, raw_from_slot: i64) -> Cover {
        const STEP_S: u32 = 300;
        const STEP_MS: i64 = 300_000;
        let mut buckets: Vec<i64> = Vec::new();
        for span in self.raw.iter().filter(|span| span.from_ms < raw_from_slot) {
            let mut bucket = bucket_of_slot(span.from_ms, STEP_S);
            while bucket < span.to_ms {
                buckets.push(bucket);
                bucket += STEP_MS;
            }
        }
        if buckets.is_empty() {
            return self;
        }
        buckets.sort_unstable();
        buckets.dedup();
        let within_replaced =
            |span: &SlotSpan| buckets.iter().any(|bucket| span.from_ms < bucket + STEP_MS && *bucket < span.to_ms);
        self.raw.retain(|span| !within_replaced(span));
        self.rollups.extend(buckets.iter().map(|bucket| RollupPiece {
            step_s: STEP_S,
            span: SlotSpan { from_ms: *bucket, to_ms: bucket + STEP_MS },
        }));
        self
    }
}

impl SlotSpan {
    pub fn of(range: &Range) -> SlotSpan {
        SlotSpan { from_ms: range.from.timestamp_millis(), to_ms: range.to.timestamp_millis() }
    }
}

/// The start of the `step_s` bucket a slot falls in: what rollups are keyed by.
pub fn bucket_of_slot(slot_ms: i64, step_s: u32) -> i64 {
    let step_ms = i64::from(step_s) * 1000;
    slot_ms.div_euclid(step_ms) * step_ms
}

/// Covers `span` with whole buckets of the widest of `steps` that fits, and its edges with the
/// narrower ones, down to raw samples.
fn cover_into(cover: &mut Cover, span: SlotSpan, steps: &[u32]) {
    if span.from_ms >= span.to_ms {
        return;
    }
    let Some((step_s, narrower)) = steps.split_first() else {
        cover.raw.push(span);
        return;
    };
    let step_ms = i64::from(*step_s) * 1000;
    let first = span.from_ms.div_euclid(step_ms) * step_ms;
    let first = if first < span.from_ms { first + step_ms } else { first };
    let last = bucket_of_slot(span.to_ms, *step_s);
    if first >= last {
        cover_into(cover, span, narrower);
        return;
    }
    cover_into(cover, SlotSpan { from_ms: span.from_ms, to_ms: first }, narrower);
    cover.rollups.push(RollupPiece { step_s: *step_s, span: SlotSpan { from_ms: first, to_ms: last } });
    cover_into(cover, SlotSpan { from_ms: last, to_ms: span.to_ms }, narrower);
}

#[cfg(test)]
mod tests;
