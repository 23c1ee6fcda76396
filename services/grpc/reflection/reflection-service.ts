import * as grpc from '@grpc/grpc-js';
import {
  ServerReflectionService as ReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from '../gen/grpc/reflection/v1/reflection';
import { ServerReflectionService as ReflectionV1Alpha } from '../gen/grpc/reflection/v1alpha/reflection';
import type { DescriptorIndex } from './descriptor-index';

/**
 * grpc.reflection.v1 and v1alpha, answered from buf's descriptor set rather than from
 * proto-loader (whose descriptors lose their dependency lists; grpcurl issue #459).
 * Reflection is public, like health: it reveals only the contract, which is open source.
 */
export function addReflection(server: grpc.Server, index: DescriptorIndex, servedServices: string[]): void {
  const listed = [...servedServices].sort();
  const handler = (call: grpc.ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>) => {
    call.on('data', (request: ServerReflectionRequest) => {
      call.write(answerReflection(index, listed, request));
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  };
  // The two versions share field numbers, so one answer serves both.
  server.addService(ReflectionV1, { serverReflectionInfo: handler });
  server.addService(ReflectionV1Alpha, { serverReflectionInfo: handler });
}

export function answerReflection(
  index: DescriptorIndex,
  services: string[],
  request: ServerReflectionRequest,
): ServerReflectionResponse {
  const base = { validHost: request.host, originalRequest: request };
  const files = (name: string): ServerReflectionResponse => ({
    ...base,
    messageResponse: {
      $case: 'fileDescriptorResponse',
      fileDescriptorResponse: { fileDescriptorProto: index.fileWithDependencies(name).map((b) => Buffer.from(b)) },
    },
  });
  const error = (code: grpc.status, message: string): ServerReflectionResponse => ({
    ...base,
    messageResponse: { $case: 'errorResponse', errorResponse: { errorCode: code, errorMessage: message } },
  });

  const message = request.messageRequest;
  switch (message?.$case) {
    case 'listServices':
      return {
        ...base,
        messageResponse: { $case: 'listServicesResponse', listServicesResponse: { service: services.map((name) => ({ name })) } },
      };
    case 'fileByFilename':
      return index.hasFile(message.fileByFilename)
        ? files(message.fileByFilename)
        : error(grpc.status.NOT_FOUND, `file not found: ${message.fileByFilename}`);
    case 'fileContainingSymbol': {
      const file = index.fileContaining(message.fileContainingSymbol);
      return file ? files(file) : error(grpc.status.NOT_FOUND, `symbol not found: ${message.fileContainingSymbol}`);
    }
    case 'fileContainingExtension':
      // The contract declares no extensions.
      return error(grpc.status.NOT_FOUND, `extension not found: ${message.fileContainingExtension.containingType}`);
    case 'allExtensionNumbersOfType': {
      const type = message.allExtensionNumbersOfType;
      return index.fileContaining(type)
        ? { ...base, messageResponse: { $case: 'allExtensionNumbersResponse', allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: [] } } }
        : error(grpc.status.NOT_FOUND, `type not found: ${type}`);
    }
    default:
      return error(grpc.status.INVALID_ARGUMENT, 'no reflection request set');
  }
}
