//! RSA keys for the answer's signatures (SPEC §6): the server's private key signs, the public key
//! a client pins verifies. PEM in, ring underneath (constant-time signing).

use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not PEM, or a PEM label this kit does not read.
    #[error("not a PEM key this kit reads ({0}); expected PRIVATE KEY, RSA PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY")]
    Pem(String),
    /// PEM, but not an RSA key of a usable size.
    #[error("not a usable RSA key: {0}")]
    Rsa(String),
}

fn pem(text: &str) -> Result<(String, Vec<u8>), KeyError> {
    let (label, der) =
        der::pem::decode_vec(text.trim().as_bytes()).map_err(|e| KeyError::Pem(e.to_string()))?;
    Ok((label.to_owned(), der))
}

/// The server's private key: RSA, PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
pub struct SigningKey {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// Reads a private key from PEM text.
    pub fn from_pem(text: &str) -> Result<SigningKey, KeyError> {
        let (label, der) = pem(text)?;
        let pair = match label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            other => return Err(KeyError::Pem(format!("label {other:?}"))),
        }
        .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(SigningKey {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// RSA PKCS#1 v1.5 with SHA-256 over `message` (SPEC §6).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .expect("PKCS#1 v1.5 signing with a valid key and a right-sized buffer cannot fail");
        sig
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            rsa_public_key: self.pair.public().as_ref().to_vec(),
        }
    }
}

/// A public key a client pins: SubjectPublicKeyInfo (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`) PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// DER of the PKCS#1 `RSAPublicKey`.
    rsa_public_key: Vec<u8>,
}

const RSA_ENCRYPTION: spki::ObjectIdentifier = spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

impl PublicKey {
    /// Reads a public key from PEM text.
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let (label, der) = pem(text)?;
        let rsa_public_key = match label.as_str() {
            "RSA PUBLIC KEY" => der,
            "PUBLIC KEY" => {
                let info = spki::SubjectPublicKeyInfoRef::try_from(der.as_slice())
                    .map_err(|e| KeyError::Rsa(e.to_string()))?;
                if info.algorithm.oid != RSA_ENCRYPTION {
                    return Err(KeyError::Rsa(format!(
                        "algorithm {} is not rsaEncryption",
                        info.algorithm.oid
                    )));
                }
                info.subject_public_key
                    .as_bytes()
                    .ok_or_else(|| KeyError::Rsa("unaligned key bits".into()))?
                    .to_vec()
            }
            other => return Err(KeyError::Pem(format!("label {other:?}"))),
        };
        Ok(PublicKey { rsa_public_key })
    }

    /// Whether `signature` is RSA PKCS#1 v1.5 / SHA-256 of `message` under this key (2048 to
    /// 8192 bits).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.rsa_public_key)
            .verify(message, signature)
            .is_ok()
    }
}
