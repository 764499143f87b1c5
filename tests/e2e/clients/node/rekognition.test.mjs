// Every stream-processor and collection operation of spd's emulator, driven by the AWS SDK for
// JavaScript v3 as a Node application would: responses have the documented shapes and errors arrive as
// the SDK's own exception classes. Run by tests/clients/test_node_client.py against `spd emulator`
// (EMULATOR_URL), with fast timings and strict references, its default.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RekognitionClient,
  CreateCollectionCommand,
  DescribeCollectionCommand,
  ListCollectionsCommand,
  DeleteCollectionCommand,
  CreateStreamProcessorCommand,
  DescribeStreamProcessorCommand,
  ListStreamProcessorsCommand,
  StartStreamProcessorCommand,
  StopStreamProcessorCommand,
  UpdateStreamProcessorCommand,
  DeleteStreamProcessorCommand,
  TagResourceCommand,
  UntagResourceCommand,
  ListTagsForResourceCommand,
  InvalidParameterException,
  ResourceAlreadyExistsException,
  ResourceInUseException,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
} from "@aws-sdk/client-rekognition";

const url = process.env.EMULATOR_URL;
assert.ok(url, "EMULATOR_URL must name the emulator");
const account = "123456789012";
const region = "us-east-1";
const client = new RekognitionClient({
  region,
  endpoint: url,
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  maxAttempts: 1,
});

async function control(method, path, body) {
  const response = await fetch(`${url}/_emulator/${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

async function waitFor(name, ...statuses) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const described = await client.send(new DescribeStreamProcessorCommand({ Name: name }));
    if (statuses.includes(described.Status)) return described;
    assert.ok(Date.now() < deadline, `${name} stayed ${described.Status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rejects(promise, errorClass) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof errorClass, `${err.name}: ${err.message} is not a ${errorClass.name}`);
    assert.equal(err.$metadata.httpStatusCode, 400);
    return true;
  });
}

function faceSearch(name) {
  return {
    Name: name,
    Input: { KinesisVideoStream: { Arn: `arn:aws:kinesisvideo:${region}:${account}:stream/${name}/1` } },
    Output: { KinesisDataStream: { Arn: `arn:aws:kinesis:${region}:${account}:stream/${name}-out` } },
    RoleArn: `arn:aws:iam::${account}:role/NodeRekognition`,
    Settings: { FaceSearch: { CollectionId: "node-staff", FaceMatchThreshold: 85 } },
    Tags: { team: "node" },
  };
}

function connectedHome(name) {
  return {
    Name: name,
    Input: { KinesisVideoStream: { Arn: `arn:aws:kinesisvideo:${region}:${account}:stream/${name}/1` } },
    Output: { S3Destination: { Bucket: "node-results", KeyPrefix: `${name}/` } },
    NotificationChannel: { SNSTopicArn: `arn:aws:sns:${region}:${account}:node-events` },
    RoleArn: `arn:aws:iam::${account}:role/NodeRekognition`,
    Settings: { ConnectedHome: { Labels: ["PERSON"], MinConfidence: 60 } },
  };
}

test("collections: create, describe, list, tag, delete", async () => {
  const created = await client.send(new CreateCollectionCommand({ CollectionId: "node-faces" }));
  assert.equal(created.StatusCode, 200);
  assert.match(created.CollectionArn, /collection\/node-faces$/);
  const described = await client.send(new DescribeCollectionCommand({ CollectionId: "node-faces" }));
  assert.equal(described.FaceCount, 0);
  assert.ok(described.CreationTimestamp instanceof Date);
  const listed = await client.send(new ListCollectionsCommand({}));
  assert.ok(listed.CollectionIds.includes("node-faces"));
  const arn = `arn:aws:rekognition:${region}:${account}:collection/node-faces`;
  await client.send(new TagResourceCommand({ ResourceArn: arn, Tags: { owner: "node" } }));
  let tags = await client.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
  assert.deepEqual(tags.Tags, { owner: "node" });
  await client.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ["owner"] }));
  tags = await client.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
  assert.deepEqual(tags.Tags, {});
  await rejects(client.send(new CreateCollectionCommand({ CollectionId: "node-faces" })), ResourceAlreadyExistsException);
  await client.send(new DeleteCollectionCommand({ CollectionId: "node-faces" }));
  await rejects(client.send(new DescribeCollectionCommand({ CollectionId: "node-faces" })), ResourceNotFoundException);
});

test("a face-search processor: create, run, stop, update, tag, delete", async () => {
  const request = faceSearch("node-lobby");
  await control("POST", "references", { request });
  const { StreamProcessorArn: arn } = await client.send(new CreateStreamProcessorCommand(request));
  assert.equal(arn, `arn:aws:rekognition:${region}:${account}:streamprocessor/node-lobby`);
  let described = await client.send(new DescribeStreamProcessorCommand({ Name: "node-lobby" }));
  assert.equal(described.Status, "STOPPED");
  assert.equal(described.Settings.FaceSearch.CollectionId, "node-staff");
  const listed = await client.send(new ListStreamProcessorsCommand({ MaxResults: 10 }));
  assert.deepEqual(listed.StreamProcessors, [{ Name: "node-lobby", Status: "STOPPED" }]);
  await client.send(new StartStreamProcessorCommand({ Name: "node-lobby" }));
  await rejects(client.send(new StartStreamProcessorCommand({ Name: "node-lobby" })), ResourceInUseException);
  described = await waitFor("node-lobby", "RUNNING", "FAILED");
  assert.equal(described.Status, "RUNNING", described.StatusMessage);
  await client.send(new StopStreamProcessorCommand({ Name: "node-lobby" }));
  await waitFor("node-lobby", "STOPPED");
  await client.send(
    new UpdateStreamProcessorCommand({ Name: "node-lobby", DataSharingPreferenceForUpdate: { OptIn: true } }),
  );
  described = await waitFor("node-lobby", "STOPPED");
  assert.deepEqual(described.DataSharingPreference, { OptIn: true });
  await client.send(new TagResourceCommand({ ResourceArn: arn, Tags: { stage: "test" } }));
  const tags = await client.send(new ListTagsForResourceCommand({ ResourceArn: arn }));
  assert.deepEqual(tags.Tags, { team: "node", stage: "test" });
  await client.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ["stage"] }));
  await rejects(
    client.send(new TagResourceCommand({ ResourceArn: arn, Tags: { "AWS:reserved": "x" } })),
    InvalidParameterException,
  );
  const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
  await rejects(client.send(new TagResourceCommand({ ResourceArn: arn, Tags: many })), ServiceQuotaExceededException);
  await client.send(new DeleteStreamProcessorCommand({ Name: "node-lobby" }));
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await client.send(new DescribeStreamProcessorCommand({ Name: "node-lobby" }));
    } catch (err) {
      assert.ok(err instanceof ResourceNotFoundException, err.name);
      break;
    }
    assert.ok(Date.now() < deadline, "node-lobby was not deleted");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

test("a label-detection processor: a session, and an update of its labels", async () => {
  const request = connectedHome("node-porch");
  await control("POST", "references", { request });
  await client.send(new CreateStreamProcessorCommand(request));
  await client.send(
    new UpdateStreamProcessorCommand({
      Name: "node-porch",
      SettingsForUpdate: { ConnectedHomeForUpdate: { Labels: ["PERSON", "PET"] } },
    }),
  );
  const described = await waitFor("node-porch", "STOPPED");
  assert.deepEqual(described.Settings.ConnectedHome.Labels, ["PERSON", "PET"]);
  const started = await client.send(
    new StartStreamProcessorCommand({
      Name: "node-porch",
      StartSelector: { KVSStreamStartSelector: { ProducerTimestamp: 1_700_000_000_000 } },
      StopSelector: { MaxDurationInSeconds: 1 },
    }),
  );
  assert.match(started.SessionId, /^[0-9a-f-]{36}$/);
  await rejects(client.send(new StopStreamProcessorCommand({ Name: "node-porch" })), ResourceInUseException);
  // Deleting during the session is allowed, as the developer guide's troubleshooting page advises.
  await client.send(new DeleteStreamProcessorCommand({ Name: "node-porch" }));
});

test("a processor whose role does not exist goes to FAILED at Start", async () => {
  const request = faceSearch("node-orphan");
  await control("POST", "references", { request });
  // Everything exists but the role it names.
  await client.send(
    new CreateStreamProcessorCommand({ ...request, RoleArn: `arn:aws:iam::${account}:role/NodeNoSuchRole` }),
  );
  await client.send(new StartStreamProcessorCommand({ Name: "node-orphan" }));
  const described = await waitFor("node-orphan", "FAILED", "RUNNING");
  assert.equal(described.Status, "FAILED");
  assert.equal(described.StatusMessage, "Access denied to Role");
});

test("errors arrive as the SDK's exception classes", async () => {
  await rejects(client.send(new DescribeStreamProcessorCommand({ Name: "nobody" })), ResourceNotFoundException);
  await rejects(client.send(new StartStreamProcessorCommand({ Name: "nobody" })), ResourceNotFoundException);
  await rejects(client.send(new StopStreamProcessorCommand({ Name: "nobody" })), ResourceNotFoundException);
  await rejects(client.send(new DeleteStreamProcessorCommand({ Name: "nobody" })), ResourceNotFoundException);
  await rejects(
    client.send(new CreateStreamProcessorCommand({ ...faceSearch("bad name!"), Name: "bad name!" })),
    InvalidParameterException,
  );
  await rejects(client.send(new ListStreamProcessorsCommand({ MaxResults: 0 })), InvalidParameterException);
  await client.send(new CreateStreamProcessorCommand(faceSearch("node-twice")));
  await rejects(client.send(new CreateStreamProcessorCommand(faceSearch("node-twice"))), ResourceInUseException);
});
