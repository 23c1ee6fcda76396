import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { DescriptorIndex } from '../../../services/grpc/reflection/descriptor-index';
import { answerReflection } from '../../../services/grpc/reflection/reflection-service';
import type { ServerReflectionRequest } from '../../../services/grpc/gen/grpc/reflection/v1/reflection';

const index = DescriptorIndex.load();
const services = ['herald.v1.TriggerService'];

function fileNames(request: ServerReflectionRequest['messageRequest']): string[] {
  const answer = answerReflection(index, services, { host: '', messageRequest: request });
  if (answer.messageResponse?.$case !== 'fileDescriptorResponse') throw new Error(`no files: ${JSON.stringify(answer.messageResponse)}`);
  return answer.messageResponse.fileDescriptorResponse.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);
}

test('file_containing_symbol returns the declaring file first, then its transitive dependencies', (t) => {
  const names = fileNames({ $case: 'fileContainingSymbol', fileContainingSymbol: 'herald.v1.TriggerService' });
  t.is(names[0], 'herald/v1/trigger_service.proto');
  t.deepEqual([...names].sort(), [
    'google/protobuf/any.proto',
    'google/protobuf/struct.proto',
    'google/protobuf/timestamp.proto',
    'google/rpc/status.proto',
    'herald/v1/trigger.proto',
    'herald/v1/trigger_service.proto',
  ]);
});

test('the served descriptors keep their dependency lists', (t) => {
  const answer = answerReflection(index, services, { host: '', messageRequest: { $case: 'fileByFilename', fileByFilename: 'herald/v1/trigger.proto' } });
  if (answer.messageResponse?.$case !== 'fileDescriptorResponse') return t.fail();
  const file = fromBinary(FileDescriptorProtoSchema, answer.messageResponse.fileDescriptorResponse.fileDescriptorProto[0]);
  t.deepEqual(file.dependency, ['google/protobuf/struct.proto', 'google/protobuf/timestamp.proto']);
});

test('methods, nested names and enum values resolve to their file', (t) => {
  t.is(index.fileContaining('herald.v1.WorkflowService.UpdateWorkflow'), 'herald/v1/workflow_service.proto');
  t.is(index.fileContaining('.herald.v1.Node'), 'herald/v1/workflow.proto');
  t.is(index.fileContaining('herald.v1.NODE_TYPE_EMAIL'), 'herald/v1/workflow.proto');
  t.is(index.fileContaining('grpc.health.v1.HealthCheckResponse.ServingStatus'), 'grpc/health/v1/health.proto');
  t.is(index.fileContaining('google.protobuf.Struct'), 'google/protobuf/struct.proto');
});

test('unknown names and files are answered with NOT_FOUND, list_services with the served services', (t) => {
  const missing = answerReflection(index, services, { host: '', messageRequest: { $case: 'fileContainingSymbol', fileContainingSymbol: 'herald.v1.Nope' } });
  t.is(missing.messageResponse?.$case === 'errorResponse' && missing.messageResponse.errorResponse.errorCode, grpc.status.NOT_FOUND);
  const noFile = answerReflection(index, services, { host: '', messageRequest: { $case: 'fileByFilename', fileByFilename: 'nope.proto' } });
  t.is(noFile.messageResponse?.$case === 'errorResponse' && noFile.messageResponse.errorResponse.errorCode, grpc.status.NOT_FOUND);
  const listed = answerReflection(index, services, { host: '', messageRequest: { $case: 'listServices', listServices: '' } });
  t.deepEqual(listed.messageResponse?.$case === 'listServicesResponse' && listed.messageResponse.listServicesResponse.service, [{ name: 'herald.v1.TriggerService' }]);
});
