/**
 * A small, dependency-free zip reader for the smoke test and the bench, built on node:zlib.
 *
 * Why not `unzip` or a library: `unzip` is not guaranteed on CI machines, and the zip libraries in
 * node_modules (adm-zip, yauzl) are untyped transitive dependencies of zapier-platform-cli that
 * npm may move or drop. The zips here are written by archiver (zapier-platform build): plain
 * deflate or stored entries, far below the 4 GB that would need zip64, which this refuses. Every
 * entry's CRC-32 is checked (zlib.crc32, Node 22.2+), so a bad read cannot pass silently.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
  method: number;
  crc32: number;
  /** Unix mode from the external attributes, 0 when the zip was not made on Unix. */
  mode: number;
  isDirectory: boolean;
  isSymlink: boolean;
  localHeaderOffset: number;
}

export interface ZipFile {
  entries: ZipEntry[];
  read: (entry: ZipEntry) => Buffer;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;
const UNIX = 3;

const findEndOfCentralDirectory = (data: Buffer): number => {
  const earliest = Math.max(0, data.length - (22 + 0xffff));
  for (let offset = data.length - 22; offset >= earliest; offset -= 1) {
    if (data.readUInt32LE(offset) === END_OF_CENTRAL_DIRECTORY) {
      return offset;
    }
  }
  throw new Error('not a zip file (no end of central directory record)');
};

export const readZip = (file: string): ZipFile => {
  const data = fs.readFileSync(file);
  const eocd = findEndOfCentralDirectory(data);
  const count = data.readUInt16LE(eocd + 10);
  const directorySize = data.readUInt32LE(eocd + 12);
  const directoryOffset = data.readUInt32LE(eocd + 16);
  if (count === 0xffff || directoryOffset === 0xffffffff || directorySize === 0xffffffff) {
    throw new Error(`${file} is a zip64 archive, which this reader does not handle`);
  }
  const entries: ZipEntry[] = [];
  let offset = directoryOffset;
  for (let index = 0; index < count; index += 1) {
    if (data.readUInt32LE(offset) !== CENTRAL_FILE_HEADER) {
      throw new Error(`${file}: corrupt central directory at entry ${index}`);
    }
    const madeBy = data.readUInt16LE(offset + 4) >> 8;
    const flags = data.readUInt16LE(offset + 8);
    const method = data.readUInt16LE(offset + 10);
    const crc32 = data.readUInt32LE(offset + 16);
    const compressedSize = data.readUInt32LE(offset + 20);
    const size = data.readUInt32LE(offset + 24);
    const nameLength = data.readUInt16LE(offset + 28);
    const extraLength = data.readUInt16LE(offset + 30);
    const commentLength = data.readUInt16LE(offset + 32);
    const external = data.readUInt32LE(offset + 38);
    const localHeaderOffset = data.readUInt32LE(offset + 42);
    const rawName = data.subarray(offset + 46, offset + 46 + nameLength);
    // Bit 11: the name is UTF-8; otherwise IBM 437, which agrees with ASCII for sane names.
    const name = rawName.toString((flags & 0x800) !== 0 ? 'utf8' : 'latin1');
    if ((flags & 0x1) !== 0) {
      throw new Error(`${file}: ${name} is encrypted`);
    }
    const mode = madeBy === UNIX ? external >>> 16 : 0;
    const fileType = mode & 0o170000;
    entries.push({
      name,
      size,
      compressedSize,
      method,
      crc32,
      mode,
      isDirectory: name.endsWith('/') || fileType === 0o040000,
      isSymlink: fileType === 0o120000,
      localHeaderOffset,
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }

  const read = (entry: ZipEntry): Buffer => {
    const local = entry.localHeaderOffset;
    if (data.readUInt32LE(local) !== LOCAL_FILE_HEADER) {
      throw new Error(`${file}: corrupt local header for ${entry.name}`);
    }
    const start = local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28);
    const raw = data.subarray(start, start + entry.compressedSize);
    let content: Buffer;
    if (entry.method === STORED) {
      content = Buffer.from(raw);
    } else if (entry.method === DEFLATED) {
      content = zlib.inflateRawSync(raw);
    } else {
      throw new Error(`${file}: ${entry.name} uses compression method ${entry.method}`);
    }
    if (content.length !== entry.size || zlib.crc32(content) !== entry.crc32) {
      throw new Error(`${file}: ${entry.name} fails its size or CRC-32 check`);
    }
    return content;
  };

  return { entries, read };
};

/** Rejects names that would land outside the target folder (zip slip). */
const safeTarget = (dir: string, name: string): string => {
  const target = path.resolve(dir, name);
  if (path.isAbsolute(name) || !target.startsWith(dir + path.sep)) {
    throw new Error(`zip entry "${name}" points outside the folder it is unpacked into`);
  }
  return target;
};

/**
 * Unpacks every entry into `dir` (which must be empty or absent). Symlinks are refused: npm
 * installs none that belong in a build, and one could point out of the folder.
 */
export const extractZip = (zip: ZipFile, dir: string): void => {
  const root = path.resolve(dir);
  fs.mkdirSync(root, { recursive: true });
  for (const entry of zip.entries) {
    const target = safeTarget(root, entry.name);
    if (entry.isSymlink) {
      throw new Error(`zip entry "${entry.name}" is a symlink`);
    }
    if (entry.isDirectory) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, zip.read(entry), { mode: entry.mode & 0o777 || 0o644 });
  }
};
