//! Structural checks of the golden netlink fixtures (tests/fixtures/*.nl):
//! they load, and every message is a whole, self-consistent nlmsg.

mod common;

use common::{nlmsghdr, Dir};

const NLM_F_REQUEST: u16 = 0x1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const GENL_ID_CTRL: u16 = 0x10;

#[test]
fn there_are_fixtures() {
    let names = common::names();
    assert!(
        names.len() >= 30,
        "expected the captured fixtures, found {names:?}"
    );
    assert!(names.iter().any(|n| n == "ctrl_getfamily_ipvs"));
}

#[test]
fn every_fixture_loads_and_has_a_command_and_a_request() {
    for name in common::names() {
        let fx = common::load(&name);
        assert!(
            !fx.commands.is_empty(),
            "{name}: no '# ipvsadm ...' command line"
        );
        assert!(!fx.requests.is_empty(), "{name}: no request");
        assert!(!fx.replies.is_empty(), "{name}: no reply");
        assert_eq!(
            fx.messages.len(),
            fx.requests.len() + fx.replies.len(),
            "{name}"
        );
    }
}

#[test]
fn nlmsg_len_equals_byte_length() {
    for name in common::names() {
        let fx = common::load(&name);
        for (i, (_, msg)) in fx.messages.iter().enumerate() {
            let (len, ..) = nlmsghdr(msg);
            assert_eq!(len as usize, msg.len(), "{name}: message {i}");
        }
    }
}

#[test]
fn requests_have_nlm_f_request_and_replies_do_not() {
    for name in common::names() {
        let fx = common::load(&name);
        for (i, (dir, msg)) in fx.messages.iter().enumerate() {
            let (_, _, flags, ..) = nlmsghdr(msg);
            match dir {
                Dir::Request => assert_ne!(flags & NLM_F_REQUEST, 0, "{name}: message {i}"),
                Dir::Reply => assert_eq!(flags & NLM_F_REQUEST, 0, "{name}: message {i}"),
            }
        }
    }
}

#[test]
fn every_reply_answers_a_request_of_the_same_fixture() {
    for name in common::names() {
        let fx = common::load(&name);
        let keys: Vec<(u32, u32)> = fx
            .requests
            .iter()
            .map(|m| (nlmsghdr(m).3, nlmsghdr(m).4))
            .collect();
        for (i, msg) in fx.replies.iter().enumerate() {
            let (_, _, _, seq, pid) = nlmsghdr(msg);
            assert!(
                keys.contains(&(seq, pid)),
                "{name}: reply {i} (seq {seq:#x}, pid {pid:#x})"
            );
        }
    }
}

#[test]
fn message_types_are_ctrl_only_in_the_ctrl_fixture() {
    for name in common::names() {
        let fx = common::load(&name);
        let family = if name == "ctrl_getfamily_ipvs" {
            GENL_ID_CTRL
        } else {
            common::CAPTURED_IPVS_FAMILY_ID
        };
        for (i, (_, msg)) in fx.messages.iter().enumerate() {
            let ty = nlmsghdr(msg).1;
            assert!(
                ty == family || ty == NLMSG_ERROR || ty == NLMSG_DONE,
                "{name}: message {i} has type {ty:#x}"
            );
        }
    }
}

#[test]
fn ctrl_reply_names_the_captured_family_id() {
    let fx = common::load("ctrl_getfamily_ipvs");
    let reply = &fx.replies[0];
    // After nlmsghdr (16) and genlmsghdr (4): attributes; find CTRL_ATTR_FAMILY_ID (1).
    let mut off = 20;
    let mut id = None;
    while off + 4 <= reply.len() {
        let len = u16::from_le_bytes([reply[off], reply[off + 1]]) as usize;
        let ty = u16::from_le_bytes([reply[off + 2], reply[off + 3]]) & 0x3fff;
        if ty == 1 {
            id = Some(u16::from_le_bytes([reply[off + 4], reply[off + 5]]));
        }
        off += (len + 3) & !3;
    }
    assert_eq!(id, Some(common::CAPTURED_IPVS_FAMILY_ID));
}

#[test]
fn error_fixtures_end_with_the_expected_errno() {
    for (name, errno) in [
        ("new_service_eexist", libc::EEXIST),
        ("new_service_bad_scheduler", libc::ENOENT),
        ("del_dest_esrch", libc::ESRCH),
    ] {
        let fx = common::load(name);
        let last = fx.replies.last().unwrap();
        assert_eq!(nlmsghdr(last).1, NLMSG_ERROR, "{name}");
        let err = i32::from_le_bytes(last[16..20].try_into().unwrap());
        assert_eq!(err, -errno, "{name}");
        assert_ne!(fx.exit_status, Some(0), "{name}");
    }
}
