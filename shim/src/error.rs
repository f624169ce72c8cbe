//! The shim's errors and their ttrpc status codes (containerd turns
//! NOT_FOUND into errdefs.ErrNotFound, FAILED_PRECONDITION into
//! ErrFailedPrecondition, and so on).

use containerd_shim::protos::ttrpc;
use ttrpc::{get_status, Code};

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Unimplemented(String),
    /// A runsc command failed; the message is runsc's own.
    #[error("runsc {command} failed: {message}")]
    Runsc { command: String, message: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Shim(#[from] containerd_shim::Error),
    #[error(transparent)]
    Protobuf(#[from] containerd_shim::protos::protobuf::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, ShimError>;

/// Wraps an io::Error with what was being done.
pub fn io_context(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ShimError {
    let context = context.into();
    move |source| ShimError::Io { context, source }
}

impl From<ShimError> for ttrpc::Error {
    fn from(e: ShimError) -> Self {
        let code = match &e {
            ShimError::NotFound(_) => Code::NOT_FOUND,
            ShimError::AlreadyExists(_) => Code::ALREADY_EXISTS,
            ShimError::FailedPrecondition(_) => Code::FAILED_PRECONDITION,
            ShimError::InvalidArgument(_) => Code::INVALID_ARGUMENT,
            ShimError::Unimplemented(_) => Code::UNIMPLEMENTED,
            _ => Code::UNKNOWN,
        };
        ttrpc::Error::RpcStatus(get_status(code, e.to_string()))
    }
}

impl From<ShimError> for containerd_shim::Error {
    fn from(e: ShimError) -> Self {
        match e {
            ShimError::Shim(inner) => inner,
            other => containerd_shim::Error::Other(other.to_string()),
        }
    }
}
