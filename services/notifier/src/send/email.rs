//! E-mail over SMTP (lettre): the host resolved through the address policy and the connection made
//! to an allowed address, TLS verified against the configured host name, the headline as subject.

use std::net::SocketAddr;
use std::time::Duration;

use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::alerting::context::NotificationContext;
use healthmon_domain::alerting::notifier::{EmailDestination, SmtpTls};
use healthmon_runtime::address_policy::{ResolveError, resolve_vetted};
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

use super::{Failure, Opened, details, redact};

/// `X-Healthmon-Delivery: <delivery id>`, the same on every retry, like HTTP's `webhook-id`.
#[derive(Debug, Clone)]
struct DeliveryHeader(String);

impl Header for DeliveryHeader {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Healthmon-Delivery")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(text.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

pub(crate) async fn send(
    email: &EmailDestination,
    password: Option<Opened>,
    policy: &AddressPolicy,
    context: &NotificationContext,
    delivery_id: Uuid,
    timeout: Duration,
) -> Result<(), Failure> {
    let message = build_message(email, context, delivery_id)?;
    let address = allowed_address(policy, email).await?;
    let transport = transport(email, address, password.as_ref(), timeout)?;
    transport.send(message).await.map(|_| ()).map_err(|error| {
        let secrets: Vec<&str> = password.iter().map(|password| password.as_str()).collect();
        Failure::new(format!("SMTP: {}", redact(&error.to_string(), &secrets)))
    })
}

fn build_message(
    email: &EmailDestination,
    context: &NotificationContext,
    delivery_id: Uuid,
) -> Result<Message, Failure> {
    let mailbox = |text: &str| {
        text.parse::<Mailbox>().map_err(|error| Failure::new(format!("invalid e-mail address {text:?}: {error}")))
    };
    let mut builder = Message::builder()
        .from(mailbox(&email.from)?)
        .subject(context.headline())
        .message_id(Some(format!("<{delivery_id}@healthmon>")))
        .header(DeliveryHeader(delivery_id.to_string()))
        .header(ContentType::TEXT_PLAIN);
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    builder.body(details(context)).map_err(|error| Failure::new(format!("building the e-mail: {error}")))
}

/// The first address of the SMTP host the policy allows: lettre connects to it, not to the name,
/// so a name rebound between the check and the connect cannot lead elsewhere.
async fn allowed_address(policy: &AddressPolicy, email: &EmailDestination) -> Result<SocketAddr, Failure> {
    let addresses = resolve_vetted(policy, &email.smtp_host, email.smtp_port).await.map_err(|error| match error {
        ResolveError::Refused { .. } => Failure::new(format!("refused by target policy: {error}")),
        ResolveError::Unresolvable { .. } => Failure::new(error.to_string()),
    })?;
    addresses.into_iter().next().ok_or_else(|| Failure::new(format!("cannot resolve {}", email.smtp_host)))
}

fn transport(
    email: &EmailDestination,
    address: SocketAddr,
    password: Option<&Opened>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, Failure> {
    let tls_parameters = || {
        // Verified against the name the notifier was configured with, not the address dialled.
        TlsParameters::new(email.smtp_host.clone()).map_err(|error| Failure::new(format!("SMTP TLS settings: {error}")))
    };
    let tls = match email.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls => Tls::Required(tls_parameters()?),
        SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string())
        .port(address.port())
        .tls(tls)
        .timeout(Some(timeout));
    if let Some(username) = &email.username {
        let password = password.map(|password| password.to_string()).unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    Ok(builder.build())
}
