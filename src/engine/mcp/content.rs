//! What an MCP tool call gives back, turned into what the model reads: text blocks joined, other
//! content summarised in one line each, everything cleaned of terminal control sequences.
//! `isError` makes it a failed call.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

use crate::sanitize;

/// The text of `result` for the model: `Ok` for a result, `Err` when the server flagged it as an
/// error. Capping is left to the caller (the toolbox caps every tool alike).
pub fn to_text(result: &CallToolResult) -> Result<String, String> {
    let mut parts: Vec<String> = result.content.iter().map(describe).collect();
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        parts.push(structured.to_string());
    }
    let text = sanitize::for_display(&parts.join("\n")).into_owned();
    if result.is_error == Some(true) {
        Err(if text.trim().is_empty() {
            "the MCP server reported an error without saying what".to_owned()
        } else {
            text
        })
    } else {
        Ok(text)
    }
}

fn describe(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text.clone(),
        ContentBlock::Image(image) => {
            format!("[image: {}, {}]", image.mime_type, size(&image.data))
        }
        ContentBlock::Audio(audio) => {
            format!("[audio: {}, {}]", audio.mime_type, size(&audio.data))
        }
        ContentBlock::Resource(embedded) => match &embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource {uri}]\n{text}")
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => format!(
                "[resource {uri}: {}, {}]",
                mime_type.as_deref().unwrap_or("binary"),
                size(blob)
            ),
            // The type is open to new kinds of resource content.
            _ => "[resource of an unknown kind]".to_owned(),
        },
        ContentBlock::ResourceLink(link) => format!("[link: {} {}]", link.name, link.uri),
        // The type is open to new kinds of content.
        _ => "[content of a kind tzzr does not know]".to_owned(),
    }
}

/// The decoded size of base64 `data`, in words.
fn size(data: &str) -> String {
    let padding = data.bytes().rev().take_while(|b| *b == b'=').count();
    let bytes = (data.len() / 4 * 3).saturating_sub(padding);
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use rmcp::model::{AudioContent, EmbeddedResource, ImageContent, TextContent};
    use serde_json::json;

    use super::*;

    fn result(value: serde_json::Value) -> CallToolResult {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn text_blocks_are_joined_with_newlines() {
        let r = CallToolResult::success(vec![
            ContentBlock::Text(TextContent::new("Echo: hi")),
            ContentBlock::Text(TextContent::new("second")),
        ]);
        assert_eq!(to_text(&r), Ok("Echo: hi\nsecond".to_owned()));
    }

    #[test]
    fn images_audio_and_blobs_are_summarised_not_pasted() {
        let r = CallToolResult::success(vec![
            ContentBlock::Image(ImageContent::new("aGVsbG8=", "image/png")),
            ContentBlock::Audio(AudioContent::new("AAAA", "audio/wav")),
            ContentBlock::Resource(EmbeddedResource::new(ResourceContents::text(
                "file body",
                "file:///a.txt",
            ))),
        ]);
        assert_eq!(
            to_text(&r),
            Ok(
                "[image: image/png, 5 bytes]\n[audio: audio/wav, 3 bytes]\n[resource file:///a.txt]\nfile body"
                    .to_owned()
            )
        );
        let blob = result(json!({"content": [
            {"type": "resource", "resource": {"uri": "x:/b", "mimeType": "application/zip", "blob": "AAAAAAAA"}},
            {"type": "resource_link", "uri": "file:///c", "name": "c"}
        ]}));
        assert_eq!(
            to_text(&blob),
            Ok("[resource x:/b: application/zip, 6 bytes]\n[link: c file:///c]".to_owned())
        );
    }

    #[test]
    fn is_error_makes_a_failed_call() {
        let r =
            result(json!({"content": [{"type": "text", "text": "no such file"}], "isError": true}));
        assert_eq!(to_text(&r), Err("no such file".to_owned()));
        let silent = result(json!({"content": [], "isError": true}));
        assert_eq!(
            to_text(&silent),
            Err("the MCP server reported an error without saying what".to_owned())
        );
    }

    #[test]
    fn structured_content_stands_in_when_there_is_no_content() {
        let r = result(json!({"structuredContent": {"sum": 3}}));
        assert_eq!(to_text(&r), Ok(r#"{"sum":3}"#.to_owned()));
    }

    #[test]
    fn control_sequences_from_the_server_are_removed() {
        let r = result(json!({"content": [
            {"type": "text", "text": "a\u{1b}]52;c;ZXZpbA==\u{7}b\u{1b}[6n\u{9b}31mc"}
        ]}));
        assert_eq!(to_text(&r), Ok("abc".to_owned()));
    }
}
