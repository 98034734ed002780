//! Printing: one block per scenario, latency figures from histograms, and PASS/FAIL verdicts.

use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds, from 1 µs to 10 minutes, at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 600_000_000, 3) {
        Ok(histogram) => histogram,
        // The bounds are constants that hdrhistogram accepts.
        Err(error) => unreachable!("histogram bounds refused: {error}"),
    }
}

/// Records `micros`, clamped into the histogram's range.
pub fn record(histogram: &mut Histogram<u64>, micros: u64) {
    histogram.saturating_record(micros.max(1));
}

/// The value at `quantile`, in milliseconds.
pub fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

/// `p50 0.61 ms   p99 1.9 ms   max 4.2 ms`
pub fn latencies(histogram: &Histogram<u64>) -> String {
    if histogram.is_empty() {
        return "no samples".into();
    }
    format!(
        "p50 {}   p99 {}   max {}",
        millis(ms(histogram, 0.5)),
        millis(ms(histogram, 0.99)),
        millis(histogram.max() as f64 / 1000.0)
    )
}

/// Milliseconds with about three significant digits.
pub fn millis(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0} ms")
    } else if value >= 10.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.2} ms")
    }
}

pub fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}

/// `== title`
pub fn title(text: &str) {
    println!("== {text}");
}

/// One indented, labelled line of a block.
pub fn line(label: &str, text: &str) {
    println!("   {label:<11} {text}");
}

/// A ratio line with its target.
pub fn ratio(value: f64, target: f64) {
    line("ratio", &format!("{value:.2} (target >= {target})  {}", verdict(value >= target)));
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
