//! The status page and its JSON, rendered once and served to every reader until something they
//! show changes: the board (any health or target change), the history figures (read again every
//! 30 s), or [`MAX_AGE`] passing (maintenance windows begin and end with time). Each rendering is
//! kept plain, and gzip-compressed once a client asks for that, so a wall of screens costs one
//! render and one compression per change rather than one per request.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use tokio::sync::Mutex;

use super::figures::Figures;
use crate::board::Aggregate;

/// The longest a rendering is served, whatever else stays the same.
pub const MAX_AGE: Duration = Duration::from_secs(5);
/// Renderings kept at most (each query string is its own); beyond, the oldest go.
const MAX_KEPT: usize = 16;

/// Which rendering: the page or its JSON, and its `?tag=` and `?group=`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub json: bool,
    pub tag: Option<String>,
    pub group: Option<String>,
}

/// What a rendering was made from, to tell whether it still stands.
#[derive(Clone)]
pub struct Inputs {
    pub board: Arc<Aggregate>,
    pub figures: Arc<Figures>,
}

pub struct Rendered {
    inputs: Inputs,
    made: Instant,
    pub plain: Bytes,
    /// Made by the first request that accepts gzip; empty if compressing failed.
    gzip: OnceLock<Bytes>,
}

impl Rendered {
    pub fn new(inputs: Inputs, plain: Vec<u8>) -> Self {
        Self { inputs, made: Instant::now(), plain: Bytes::from(plain), gzip: OnceLock::new() }
    }

    /// The rendering gzip-compressed (empty should compressing fail: then it is sent plain).
    pub fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut encoder = GzEncoder::new(Vec::with_capacity(self.plain.len() / 8), Compression::fast());
            let compressed = encoder.write_all(&self.plain).and_then(|()| encoder.finish());
            Bytes::from(compressed.unwrap_or_default())
        })
    }

    fn stands_for(&self, inputs: &Inputs) -> bool {
        Arc::ptr_eq(&self.inputs.board, &inputs.board)
            && Arc::ptr_eq(&self.inputs.figures, &inputs.figures)
            && self.made.elapsed() < MAX_AGE
    }
}

#[derive(Default)]
pub struct PageCache {
    kept: std::sync::Mutex<HashMap<PageKey, Arc<Rendered>>>,
    /// One rendering at a time: readers arriving meanwhile wait for it rather than render too.
    rendering: Mutex<()>,
}

impl PageCache {
    /// The kept rendering of `key` if it still stands for `inputs`.
    pub fn current(&self, key: &PageKey, inputs: &Inputs) -> Option<Arc<Rendered>> {
        let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.get(key).filter(|rendered| rendered.stands_for(inputs)).cloned()
    }

    pub fn keep(&self, key: PageKey, rendered: Arc<Rendered>) {
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let full = kept.len() >= MAX_KEPT && !kept.contains_key(&key);
        if full && let Some(oldest) = kept.iter().min_by_key(|(_, rendered)| rendered.made).map(|(key, _)| key.clone())
        {
            kept.remove(&oldest);
        }
        kept.insert(key, rendered);
    }

    pub async fn rendering(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.rendering.lock().await
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn inputs() -> Inputs {
        Inputs { board: Arc::new(Aggregate::starting()), figures: Arc::new(Figures::none()) }
    }

    fn key(tag: usize) -> PageKey {
        PageKey { json: false, tag: Some(tag.to_string()), group: None }
    }

    #[test]
    fn given_a_rendering_when_the_board_or_figures_change_then_it_no_longer_stands() {
        let cache = PageCache::default();
        let made = inputs();
        cache.keep(key(0), Arc::new(Rendered::new(made.clone(), b"page".repeat(500))));
        assert!(cache.current(&key(0), &made).is_some());
        let moved_board = Inputs { board: Arc::new(Aggregate::starting()), ..made.clone() };
        assert!(cache.current(&key(0), &moved_board).is_none(), "a new board");
        let new_figures = Inputs { figures: Arc::new(Figures::none()), ..made.clone() };
        assert!(cache.current(&key(0), &new_figures).is_none(), "new figures");
        assert!(cache.current(&key(1), &made).is_none(), "another query");
    }

    #[test]
    fn given_a_rendering_when_kept_then_its_gzip_form_holds_the_same_bytes() {
        let plain = b"<p>healthy</p>".repeat(1000);
        let rendered = Rendered::new(inputs(), plain.clone());
        assert!(rendered.gzip().len() < plain.len() / 10, "{} bytes", rendered.gzip().len());
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(&rendered.gzip()[..]).read_to_end(&mut unpacked).expect("valid gzip");
        assert_eq!(unpacked, plain);
    }

    #[test]
    fn given_more_queries_than_kept_when_another_comes_then_the_oldest_goes() {
        let cache = PageCache::default();
        let made = inputs();
        for n in 0..=MAX_KEPT {
            cache.keep(key(n), Arc::new(Rendered::new(made.clone(), Vec::new())));
        }
        assert!(cache.current(&key(0), &made).is_none(), "the oldest went");
        assert!((1..=MAX_KEPT).all(|n| cache.current(&key(n), &made).is_some()));
    }
}
