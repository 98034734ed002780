//! ntfy: the message as the plain-text body of a POST to the topic URL, with its title, priority
//! and tags as headers, and the token (when set) as a bearer.

use healthmon_domain::alerting::context::{NotificationContext, NotificationEvent};
use healthmon_domain::alerting::notifier::NtfyDestination;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use zeroize::Zeroizing;

use super::http::HttpMessage;
use super::{Failure, Opened, details};

pub(crate) fn message(
    ntfy: &NtfyDestination,
    token: Option<Opened>,
    context: &NotificationContext,
) -> Result<HttpMessage, Failure> {
    let (priority, tags) = match context.event {
        NotificationEvent::Triggered => ("5", "rotating_light"),
        NotificationEvent::Reminder => ("4", "rotating_light"),
        NotificationEvent::Resolved => ("3", "white_check_mark"),
        NotificationEvent::Test => ("2", "test_tube"),
    };
    let mut message = HttpMessage::new(
        Method::POST,
        Zeroizing::new(ntfy.url.clone()),
        details(context).into_bytes(),
        "text/plain; charset=utf-8",
    );
    // ntfy reads header values as UTF-8 and Latin-1 both; a name that is not ASCII is cut to ASCII
    // so the header stays valid.
    let title: String =
        context.headline().chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect();
    let title = HeaderValue::from_str(&title).map_err(|_| Failure::new("the title is not valid in HTTP"))?;
    message.headers.insert(HeaderName::from_static("title"), title);
    message.headers.insert(HeaderName::from_static("priority"), HeaderValue::from_static(priority));
    message.headers.insert(HeaderName::from_static("tags"), HeaderValue::from_static(tags));
    if let Some(token) = token {
        message.secret_header(AUTHORIZATION, Zeroizing::new(format!("Bearer {}", token.as_str())))?;
        message.secrets.push(token);
    }
    Ok(message)
}
