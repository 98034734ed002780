//! Badges as flat two-part SVG images (a label and a value, as shields.io draws them), so that a
//! README shows a target's status, uptime or response time without a token.

use healthmon_domain::status_page::Grade;
use healthmon_wire::HealthStatus;

/// One badge's words and colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    pub label: String,
    pub value: String,
    pub colour: &'static str,
}

impl Badge {
    pub fn status(status: HealthStatus) -> Self {
        let colour = match status {
            HealthStatus::Healthy => GREEN,
            HealthStatus::Unhealthy => RED,
            HealthStatus::Stale => ORANGE,
            HealthStatus::Unknown | HealthStatus::Paused => GREY,
        };
        Self { label: "status".into(), value: status.as_str().into(), colour }
    }

    pub fn uptime(window: &str, uptime: Option<f64>) -> Self {
        let value = uptime.map_or_else(|| "no data".to_owned(), percent);
        Self { label: format!("uptime {window}"), value, colour: colour_of(Grade::of_uptime(uptime)) }
    }

    pub fn response_time(window: &str, mean_ms: Option<f64>) -> Self {
        let value = mean_ms.map_or_else(|| "no data".to_owned(), |ms| format!("{} ms", ms.round()));
        Self { label: format!("response time {window}"), value, colour: colour_of(Grade::of_response_ms(mean_ms)) }
    }

    /// The SVG document.
    pub fn svg(&self) -> String {
        let (label_width, value_width) = (text_width(&self.label), text_width(&self.value));
        let width = label_width + value_width;
        let (label, value) = (escape(&self.label), escape(&self.value));
        let label_x = label_width / 2;
        let value_x = label_width + value_width / 2;
        format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title><rect width="{label_width}" height="20" fill="#555"/><rect x="{label_width}" width="{value_width}" height="20" fill="{colour}"/><g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="{label_x}" y="14">{label}</text><text x="{value_x}" y="14">{value}</text></g></svg>"##,
            colour = self.colour,
        )
    }
}

const GREEN: &str = "#2e7d32";
const LIGHT_GREEN: &str = "#558b2f";
const YELLOW: &str = "#8d6e00";
const ORANGE: &str = "#c25400";
const RED: &str = "#c62828";
const GREY: &str = "#616161";

/// Colours dark enough for white text to read on each (WCAG AA at 11 px bold-ish).
fn colour_of(grade: Grade) -> &'static str {
    match grade {
        Grade::Excellent => GREEN,
        Grade::Good => LIGHT_GREEN,
        Grade::Fair => YELLOW,
        Grade::Poor => ORANGE,
        Grade::Bad => RED,
        Grade::Unmeasured => GREY,
    }
}

/// An uptime as a percentage with as many decimals as it takes to tell 99.9 from 100.
pub fn percent(uptime: f64) -> String {
    let percent = uptime * 100.0;
    if percent >= 100.0 {
        "100%".to_owned()
    } else if percent >= 99.0 {
        format!("{:.2}%", (percent * 100.0).floor() / 100.0)
    } else {
        format!("{:.1}%", (percent * 10.0).floor() / 10.0)
    }
}

/// Width in pixels of `text` at 11 px Verdana, estimated per character, plus padding.
fn text_width(text: &str) -> usize {
    let tenths: usize = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ' ' | '\'' | '|' | '!' => 35,
            'm' | 'w' | 'M' | 'W' | '%' => 105,
            c if c.is_ascii_uppercase() || c.is_ascii_digit() => 75,
            _ => 68,
        })
        .sum();
    tenths / 10 + 12
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_value_when_drawn_then_the_svg_shows_label_and_value_escaped() {
        let svg = Badge { label: "a<b".into(), value: "x & y".into(), colour: GREEN }.svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.contains("a&lt;b") && svg.contains("x &amp; y"), "{svg}");
        assert!(!svg.contains("a<b"), "{svg}");
    }

    #[test]
    fn given_uptimes_when_shown_as_percent_then_nines_are_not_rounded_up() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.99999), "99.99%");
        assert_eq!(percent(0.9), "90.0%");
        assert_eq!(Badge::uptime("7d", None).value, "no data");
    }

    #[test]
    fn given_longer_text_when_drawn_then_the_badge_is_wider() {
        let short = Badge::status(HealthStatus::Healthy).svg();
        let long = Badge::response_time("30d", Some(1234.0)).svg();
        let width = |svg: &str| -> usize {
            svg.split("width=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|w| w.parse().ok())
                .unwrap_or(0)
        };
        assert!(width(&long) > width(&short));
    }
}
