//! TLS for `https://` and `wss://` (the `tls` feature): the platform's root certificates and
//! any the builder adds, for both transports.
//!
//! The WebSocket transport gets a rustls configuration of the client's own, with an explicit
//! crypto provider: the one the program installed as the process default, or else aws-lc-rs,
//! the provider reqwest's TLS uses. Leaving the choice to rustls would panic in a program
//! whose dependencies compile in more than one provider (ring and aws-lc-rs, say), a common
//! case.

use std::sync::Arc;

use rpc_core::Error;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// The certificates in `pem`: one or more `CERTIFICATE` blocks.
pub(crate) fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("a root certificate is not valid PEM: {e}"))?;
    if certificates.is_empty() {
        return Err("a root certificate holds no `BEGIN CERTIFICATE` block".into());
    }
    Ok(certificates)
}

/// The WebSocket transport's TLS configuration: the platform's roots and `extra`.
pub(crate) fn ws_config(
    extra: &[CertificateDer<'static>],
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    for certificate in extra {
        roots
            .add(certificate.clone())
            .map_err(|e| Error::Request(format!("a root certificate is not usable: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Request(format!(
            "no root certificates to verify a wss:// server with: the platform has none \
             ({added} loaded; {} errors) and none was added with `root_certificate`",
            native.errors.len()
        )));
    }
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Request(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_that_holds_no_certificate_is_refused_with_a_reason() {
        assert!(
            certificates(b"")
                .unwrap_err()
                .contains("no `BEGIN CERTIFICATE`")
        );
        assert!(
            certificates(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
                .unwrap_err()
                .contains("not valid PEM")
        );
    }
}
