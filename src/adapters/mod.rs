//! Layer 4, adapters: the ports implemented against the outside world, one file per AWS
//! service under `aws/` (sharing one pagination helper and one error classifier), and an
//! offline backend for `tag-warden plan`. A new AWS service gets its own file in `aws/` and a
//! client in [`aws::AwsBackend`]; only this layer names SDK types.

pub mod aws;
pub mod offline;
