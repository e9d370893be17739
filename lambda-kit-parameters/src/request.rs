//! The requests that the SDK providers and the extension share, so that a function can
//! switch transports without changing its reads.

/// One SSM parameter (or a path, for a read of several): its name and whether
/// `SecureString` values come back decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsmRequest {
    pub(crate) name: String,
    /// `None`: the provider's default ([`SSM_DECRYPT_ENV`](crate::SSM_DECRYPT_ENV)).
    pub(crate) decrypt: Option<bool>,
    /// For a read under a path: its whole subtree, or only its direct children.
    pub(crate) recursive: bool,
}

impl SsmRequest {
    /// The parameter (or path) name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<S: Into<String>> From<S> for SsmRequest {
    fn from(name: S) -> Self {
        SsmRequest {
            name: name.into(),
            decrypt: None,
            recursive: true,
        }
    }
}

/// One secret: its name or ARN, and optionally which version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRequest {
    pub(crate) id: String,
    pub(crate) version_stage: Option<String>,
    pub(crate) version_id: Option<String>,
}

impl SecretRequest {
    /// The secret's name or ARN.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<S: Into<String>> From<S> for SecretRequest {
    fn from(id: S) -> Self {
        SecretRequest {
            id: id.into(),
            version_stage: None,
            version_id: None,
        }
    }
}
