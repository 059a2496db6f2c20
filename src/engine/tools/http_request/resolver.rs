//! Name resolution that drops refused addresses. The connector connects only to what this
//! resolver returns, so the addresses checked are the addresses connected to: a name that
//! answers 127.0.0.1 the second time it is asked (DNS rebinding) finds nothing to connect to.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::oneshot;

use super::address::{Guard, Refusal};

/// Every address of a name was refused.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to refused addresses: {refusal}")]
pub struct NameRefused {
    pub name: String,
    pub refusal: Refusal,
}

/// Wraps a resolver and keeps only the addresses the guard allows.
pub struct GuardedResolver {
    guard: Guard,
    inner: Arc<dyn Resolve>,
}

impl GuardedResolver {
    pub fn new(guard: Guard, inner: Arc<dyn Resolve>) -> Self {
        Self { guard, inner }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        let resolving = self.inner.resolve(name);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = resolving.await?.collect();
            let (allowed, first_refusal) = keep_allowed(&guard, addrs);
            match (allowed.is_empty(), first_refusal) {
                (true, Some(refusal)) => Err(NameRefused {
                    name: host,
                    refusal,
                }
                .into()),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// The allowed addresses, and why the first refused one was refused.
fn keep_allowed(guard: &Guard, addrs: Vec<SocketAddr>) -> (Vec<SocketAddr>, Option<Refusal>) {
    let mut first_refusal = None;
    let allowed = addrs
        .into_iter()
        .filter(|addr| match guard.check_ip(addr.ip()) {
            Ok(()) => true,
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
                false
            }
        })
        .collect();
    (allowed, first_refusal)
}

/// The system resolver (getaddrinfo), run on a thread of its own: a lookup stuck on a dead DNS
/// server must not hold up the runtime's shutdown, as a task on its blocking pool would.
#[derive(Debug, Default)]
pub struct SystemResolver;

/// A name the system resolver could not resolve.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {name}: {source}")]
pub struct NotResolved {
    pub name: String,
    pub source: io::Error,
}

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let (done, result) = oneshot::channel();
        let spawned = thread::Builder::new().name("tzzr-dns".to_owned()).spawn({
            let host = host.clone();
            move || {
                // Nobody to tell when the request was dropped meanwhile.
                let _ = done.send((host.as_str(), 0).to_socket_addrs());
            }
        });
        Box::pin(async move {
            let not_resolved = |source| NotResolved {
                name: host.clone(),
                source,
            };
            spawned.map_err(not_resolved)?;
            let addrs = result
                .await
                .unwrap_or_else(|_| Err(io::Error::other("the lookup thread stopped")))
                .map_err(not_resolved)?;
            Ok(Box::new(addrs) as Addrs)
        })
    }
}

/// A resolver with fixed answers, for tests: rebinding, several addresses, unknown names.
#[cfg(test)]
#[derive(Debug, Default)]
pub struct FixedResolver {
    pub answers: Vec<(&'static str, Vec<std::net::IpAddr>)>,
}

#[cfg(test)]
impl Resolve for FixedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let answer: Option<Vec<SocketAddr>> = self
            .answers
            .iter()
            .find(|(known, _)| *known == name.as_str())
            .map(|(_, ips)| ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect());
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match answer {
                Some(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                None => Err(NotResolved {
                    name: host,
                    source: io::Error::new(io::ErrorKind::NotFound, "no such name"),
                }
                .into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn resolver(allow_private: bool) -> GuardedResolver {
        let inner = FixedResolver {
            answers: vec![
                ("rebind.test", vec![ip("127.0.0.1")]),
                (
                    "mixed.test",
                    vec![ip("10.1.2.3"), ip("93.184.215.14"), ip("::1")],
                ),
                (
                    "metadata.test",
                    vec![ip("169.254.169.254"), ip("fd00:ec2::254")],
                ),
            ],
        };
        GuardedResolver::new(Guard::new(allow_private), Arc::new(inner))
    }

    async fn resolve(resolver: &GuardedResolver, name: &str) -> Result<Vec<IpAddr>, String> {
        match resolver.resolve(name.parse().unwrap()).await {
            Ok(addrs) => Ok(addrs.map(|addr| addr.ip()).collect()),
            Err(error) => Err(error.to_string()),
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_only_to_refused_addresses_is_refused() {
        let guarded = resolver(false);
        assert_eq!(
            resolve(&guarded, "rebind.test").await,
            Err(
                "rebind.test resolves only to refused addresses: 127.0.0.1 is a loopback \
                 address (set `settings.http_allow_private: true` to let agents reach local \
                 and private services)"
                    .to_owned()
            )
        );
        let metadata = resolve(&guarded, "metadata.test").await.unwrap_err();
        assert!(
            metadata.contains("169.254.169.254 is the cloud metadata address"),
            "{metadata}"
        );
    }

    #[tokio::test]
    async fn only_the_allowed_addresses_of_a_name_are_kept() {
        assert_eq!(
            resolve(&resolver(false), "mixed.test").await,
            Ok(vec![ip("93.184.215.14")])
        );
    }

    #[tokio::test]
    async fn allow_private_keeps_every_address() {
        let open = resolver(true);
        assert_eq!(
            resolve(&open, "mixed.test").await,
            Ok(vec![ip("10.1.2.3"), ip("93.184.215.14"), ip("::1")])
        );
        assert_eq!(
            resolve(&open, "rebind.test").await,
            Ok(vec![ip("127.0.0.1")])
        );
    }

    #[tokio::test]
    async fn an_unknown_name_keeps_the_resolvers_error() {
        assert_eq!(
            resolve(&resolver(false), "nowhere.test").await,
            Err("cannot resolve nowhere.test: no such name".to_owned())
        );
    }

    #[tokio::test]
    async fn the_system_resolver_resolves_localhost_and_the_guard_refuses_it() {
        let guarded = GuardedResolver::new(Guard::new(false), Arc::new(SystemResolver));
        let refused = resolve(&guarded, "localhost").await.unwrap_err();
        assert!(
            refused.starts_with("localhost resolves only to refused addresses: "),
            "{refused}"
        );
        let open = GuardedResolver::new(Guard::new(true), Arc::new(SystemResolver));
        let addrs = resolve(&open, "localhost").await.unwrap();
        assert!(addrs.iter().all(IpAddr::is_loopback), "{addrs:?}");
    }
}
