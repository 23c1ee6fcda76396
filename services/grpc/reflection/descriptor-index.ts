import { readFileSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';

/** The FileDescriptorSet `buf build` writes (imports included); see buf.gen.yaml. */
export const DESCRIPTOR_SET_PATH = new URL('../gen/herald.binpb', import.meta.url);

interface IndexedFile {
  /** The file's bytes exactly as buf serialized them: what reflection hands out. */
  bytes: Uint8Array;
  proto: FileDescriptorProto;
}

/**
 * Answers reflection questions from the real descriptors: every file keeps its dependency list,
 * which is what strict clients (grpcurl, python grpcio) need to resolve google.protobuf.Struct.
 */
export class DescriptorIndex {
  private readonly files = new Map<string, IndexedFile>();
  private readonly fileOfSymbol = new Map<string, string>();
  /** Fully qualified names of every service declared in the set. */
  readonly serviceNames: string[] = [];

  constructor(descriptorSet: Uint8Array) {
    for (const bytes of splitFiles(descriptorSet)) {
      const proto = fromBinary(FileDescriptorProtoSchema, bytes);
      this.files.set(proto.name, { bytes, proto });
      this.indexSymbols(proto);
    }
  }

  static load(path: URL | string = DESCRIPTOR_SET_PATH): DescriptorIndex {
    return new DescriptorIndex(readFileSync(path));
  }

  hasFile(name: string): boolean {
    return this.files.has(name);
  }

  /** The file declaring `symbol` (a message, enum, service, method, field or enum value), if any. */
  fileContaining(symbol: string): string | undefined {
    return this.fileOfSymbol.get(symbol.replace(/^\./, ''));
  }

  /** The named file first, then every file it depends on, transitively, each once. */
  fileWithDependencies(name: string): Uint8Array[] {
    const ordered: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (fileName: string) => {
      if (seen.has(fileName)) return;
      seen.add(fileName);
      const file = this.files.get(fileName);
      if (!file) throw new Error(`descriptor set lacks ${fileName}, a dependency`);
      ordered.push(file.bytes);
      for (const dependency of file.proto.dependency) visit(dependency);
    };
    visit(name);
    return ordered;
  }

  private indexSymbols(file: FileDescriptorProto): void {
    const scope = file.package ? `${file.package}.` : '';
    const add = (symbol: string) => this.fileOfSymbol.set(symbol, file.name);
    const addEnum = (prefix: string, enumType: EnumDescriptorProto) => {
      add(prefix + enumType.name);
      // Enum values are scoped as siblings of their enum, as in protobuf's own name resolution.
      for (const value of enumType.value) add(prefix + value.name);
    };
    const addMessage = (prefix: string, message: DescriptorProto) => {
      const name = prefix + message.name;
      add(name);
      for (const field of message.field) add(`${name}.${field.name}`);
      for (const oneof of message.oneofDecl) add(`${name}.${oneof.name}`);
      for (const nested of message.nestedType) addMessage(`${name}.`, nested);
      for (const nested of message.enumType) addEnum(`${name}.`, nested);
    };
    for (const message of file.messageType) addMessage(scope, message);
    for (const enumType of file.enumType) addEnum(scope, enumType);
    for (const service of file.service) {
      const name = scope + service.name;
      add(name);
      this.serviceNames.push(name);
      for (const method of service.method) add(`${name}.${method.name}`);
    }
  }
}

/** Slices `repeated FileDescriptorProto file = 1` out of a FileDescriptorSet without re-encoding. */
function splitFiles(descriptorSet: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(descriptorSet);
  const files: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(wireType);
  }
  return files;
}
