//! `WriteTable` over raw gRPC, as a client other than bayou's could send it: the server reads
//! no path of its own machine, and an upload that does not match what it listed is refused.

mod common;

use bayou_proto::v1 as pb;
use bayou_proto::v1::lake_client::LakeClient;
use bayou_proto::v1::write_table_input::Part as In;
use bayou_proto::v1::write_table_start::What;
use common::{Served, serve};
use tonic::transport::Channel;

impl Served {
    /// Sends `input` as one `WriteTable` call; the status it ends with, if it fails.
    async fn write(&self, input: Vec<pb::WriteTableInput>) -> Result<(), tonic::Status> {
        let channel = Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = LakeClient::new(channel);
        let mut request = tonic::Request::new(futures::stream::iter(input));
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        let mut outputs = client.write_table(request).await?.into_inner();
        while outputs.message().await?.is_some() {}
        Ok(())
    }
}

fn start(search_uri: &str, files: Vec<pb::SentFile>) -> pb::WriteTableInput {
    pb::WriteTableInput {
        part: Some(In::Start(pb::WriteTableStart {
            what: Some(What::Create(pb::TableRequest {
                table: "t".into(),
                branch: None,
                partitioned_by: None,
                replace: false,
            })),
            search_uri: search_uri.into(),
            files,
        })),
    }
}

fn chunk(bytes: &[u8]) -> pb::WriteTableInput {
    pb::WriteTableInput {
        part: Some(In::Chunk(bytes.to_vec())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_on_the_servers_machine_is_refused_even_when_it_exists() {
    let served = serve().await;
    let host_file = served.dir.path().join("on-the-server.csv");
    std::fs::write(&host_file, "id\n1\n").unwrap();
    let refused = served
        .write(vec![start(host_file.to_str().unwrap(), vec![])])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("reads no files of its own machine"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_does_not_match_its_listing_is_refused() {
    let served = serve().await;
    let listed = |size| {
        vec![pb::SentFile {
            origin: "/client/a.csv".into(),
            size,
        }]
    };
    let short = served
        .write(vec![start("/client/a.csv", listed(100)), chunk(b"id\n1\n")])
        .await
        .unwrap_err();
    assert_eq!(short.code(), tonic::Code::InvalidArgument, "{short:?}");
    assert!(short.message().contains("before all of /client/a.csv came"));
    let long = served
        .write(vec![start("/client/a.csv", listed(2)), chunk(b"id\n1\n")])
        .await
        .unwrap_err();
    assert!(long.message().contains("more bytes came"), "{long:?}");
    let unknown = served
        .write(vec![pb::WriteTableInput {
            part: Some(In::Start(pb::WriteTableStart {
                what: Some(What::Create(pb::TableRequest {
                    table: "t".into(),
                    branch: None,
                    partitioned_by: None,
                    replace: false,
                })),
                search_uri: "/client/a.exe".into(),
                files: vec![pb::SentFile {
                    origin: "/client/a.exe".into(),
                    size: 1,
                }],
            })),
        }])
        .await
        .unwrap_err();
    assert!(
        unknown.message().contains("cannot tell the format"),
        "{unknown:?}"
    );
    let empty = served
        .write(vec![start("/client/a.csv", listed(5)), chunk(b"")])
        .await
        .unwrap_err();
    assert!(empty.message().contains("empty part"), "{empty:?}");
    let trailing = served
        .write(vec![
            start("/client/a.csv", listed(5)),
            chunk(b"id\n1\n"),
            chunk(b"2\n"),
        ])
        .await
        .unwrap_err();
    assert!(
        trailing
            .message()
            .contains("more came after the files listed"),
        "{trailing:?}"
    );
    let huge = served
        .write(vec![start(
            "/client/a.csv",
            vec![
                pb::SentFile {
                    origin: "/client/a.csv".into(),
                    size: u64::MAX,
                },
                pb::SentFile {
                    origin: "/client/b.csv".into(),
                    size: 2,
                },
            ],
        )])
        .await
        .unwrap_err();
    assert_eq!(huge.code(), tonic::Code::ResourceExhausted, "{huge:?}");
    // A well-formed upload of the same file makes the table.
    served
        .write(vec![start("/client/a.csv", listed(5)), chunk(b"id\n1\n")])
        .await
        .unwrap();
    // Making it again fails before any byte is taken (none follows this start).
    let exists = served
        .write(vec![start("/client/a.csv", listed(5))])
        .await
        .unwrap_err();
    assert!(exists.message().contains("exists"), "{exists:?}");
}
