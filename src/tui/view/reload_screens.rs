//! Snapshots of what live reload shows: a broken edit's whole error (wrapped, with its line
//! and column) over the running team, and the config's warnings.

use super::screens::screen;
use crate::tui::app::tests::info;
use crate::tui::app::{App, AppEvent};

fn team() -> App {
    App::new(&[info("coder"), info("reviewer")], &[], None)
}

#[test]
fn a_broken_edit_shows_the_whole_error_over_the_running_team() {
    let mut app = team();
    app.handle(AppEvent::ReloadFailed {
        error: "/project/config.yaml:7:5: agents.reviewer: found a tab character that violates indentation; indent with spaces (YAML does not allow tabs), e.g. two spaces per level".into(),
    });
    let text = screen(&app, 120, 35, 0);
    insta::assert_snapshot!(text);
    assert!(text.contains("Config not reloaded"), "{text}");
    assert!(text.contains("/project/config.yaml:7:5:"), "{text}");
    assert!(
        text.contains("two spaces per level"),
        "the end of the error is shown: {text}"
    );
    assert!(
        text.contains("config not reloaded: /project/config.yaml:7:5"),
        "{text}"
    );
}

#[test]
fn warnings_are_shown_once_until_they_change() {
    let mut app = team();
    let warnings = vec![
        "/project/config.yaml:9:5: unknown key `agents.coder.tols`; did you mean `tools`?"
            .to_owned(),
    ];
    app.handle(AppEvent::ConfigWarnings {
        warnings: warnings.clone(),
    });
    let text = screen(&app, 120, 35, 0);
    insta::assert_snapshot!(text);
    assert!(text.contains("did you mean `tools`?"), "{text}");
    app.ui.overlay = crate::tui::app::state::Overlay::None;
    app.handle(AppEvent::ConfigWarnings { warnings });
    assert_eq!(app.ui.overlay, crate::tui::app::state::Overlay::None);
    app.handle(AppEvent::ConfigWarnings {
        warnings: Vec::new(),
    });
    assert_eq!(app.ui.overlay, crate::tui::app::state::Overlay::None);
}
