//! Builds PowerShell command lines whose script travels only as `-EncodedCommand` base64, so no
//! target field can break out into the command line the remote shell parses.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The command line that runs `script` in PowerShell without profiles or prompts.
///
/// The script is encoded as UTF-16LE and then base64, as `-EncodedCommand` expects; base64 uses
/// only `A-Z a-z 0-9 + / =`, none of which any Windows or POSIX shell treats as special, so the
/// line needs no quoting whatever the script holds.
pub fn encoded_command(script: &str) -> String {
    let utf16le: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    format!("powershell -NoProfile -NonInteractive -EncodedCommand {}", STANDARD.encode(utf16le))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "powershell -NoProfile -NonInteractive -EncodedCommand ";

    fn decode(line: &str) -> String {
        let encoded = line.strip_prefix(PREFIX).expect("the fixed prefix");
        let bytes = STANDARD.decode(encoded).expect("valid base64");
        let units: Vec<u16> = bytes.chunks_exact(2).map(|pair| u16::from_le_bytes([pair[0], pair[1]])).collect();
        String::from_utf16(&units).expect("valid UTF-16")
    }

    #[test]
    fn matches_what_powershell_documents_for_a_known_script() {
        // From `[Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('dir'))`.
        assert_eq!(encoded_command("dir"), format!("{PREFIX}ZABpAHIA"));
    }

    #[test]
    fn hostile_input_ends_up_only_inside_the_base64() {
        let hostile = [
            "'; Remove-Item -Recurse C:\\ ; '",
            "\"quoted\" `backtick` $(Get-Process) ${env:PATH}",
            "line one\nline two\r\nexit 3",
            "a && b || c | d > e < f & g ; h",
            "ünïcødé ✓ 𝄞 and a NUL-free tail",
            "",
        ];
        for script in hostile {
            let line = encoded_command(script);
            let encoded = line.strip_prefix(PREFIX).expect("the fixed prefix");
            assert!(
                encoded.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')),
                "unexpected character in {encoded:?}"
            );
            assert_eq!(line.split(' ').count(), 5, "the script must not add words to {line:?}");
            assert_eq!(decode(&line), script, "the script must round-trip");
        }
    }
}
