//! History's questions, as pure rules: which span of time an uptime or series request asks about
//! and in which buckets, what a bucket of samples comes to (a rollup), how long a target was down,
//! and how long raw samples and rollups are kept. The store answers them;
//! the api turns a bad parameter into a 422 naming it.

pub mod cover;
pub mod downtime;
pub mod open_bucket;
pub mod range;
pub mod retention;
pub mod rollup;

pub use cover::{Cover, ROLLUP_STEPS_S, RollupPiece, SlotSpan, bucket_of_slot};
pub use open_bucket::{OPEN_STEP_S, RollupChanges, open_lies_in, rollup_changes};
pub use range::{Range, SeriesStep, Window};
pub use retention::Retention;
pub use rollup::{Rollup, RollupKey, rollups_of};
