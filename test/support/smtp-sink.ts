import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/**
 * A real SMTP server on loopback for tests and benchmarks. Accepts by default; `failNext` makes
 * it defer (4xx) or reject (5xx) the next matching messages, at RCPT or at DATA.
 */

export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  /** The message exactly as delivered over DATA (CRLF line ends, dot-unstuffed). */
  raw: string;
  /** Header name (lower case) -> unfolded values, in order. */
  headers: Map<string, string[]>;
  /** Everything after the blank line that ends the headers. */
  body: string;
  /** The session was TLS (implicit, or upgraded with STARTTLS). */
  secure: boolean;
  /** The authenticated user, if the client logged in. */
  user?: string;
  /** Id of the SMTP connection; equal ids mean a pooled connection was reused. */
  sessionId: string;
}

export interface SmtpFailure {
  /** 4xx defers (the client should retry), 5xx rejects. */
  code: number;
  message?: string;
  /** Where the reply is given: after RCPT TO, or after the message data (default). */
  phase?: 'rcpt' | 'data';
  /** Only messages to this recipient. */
  to?: string;
  times?: number;
}

export interface SmtpSinkOptions {
  /** Offers STARTTLS with this certificate (or implicit TLS with `secure`). Without it, no TLS. */
  tls?: { key: string; cert: string };
  secure?: boolean;
  /** Requires AUTH PLAIN/LOGIN with these credentials. */
  auth?: { user: string; pass: string };
}

export interface SmtpSink {
  host: string;
  port: number;
  /** Accepted messages, in arrival order. */
  received: ReceivedMail[];
  /** Every reply the sink failed on purpose, with the recipient. */
  failures: Array<{ code: number; phase: 'rcpt' | 'data'; to: string[] }>;
  failNext(failure: SmtpFailure): void;
  header(mail: ReceivedMail, name: string): string | undefined;
  close(): Promise<void>;
}

type Pending = Required<Pick<SmtpFailure, 'code' | 'phase'>> & SmtpFailure & { remaining: number };

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const failures: SmtpSink['failures'] = [];
  const pending: Pending[] = [];

  const take = (phase: 'rcpt' | 'data', recipients: string[]): Pending | undefined => {
    const found = pending.find(
      (p) => p.remaining > 0 && p.phase === phase && (p.to === undefined || recipients.includes(p.to)),
    );
    if (found) {
      found.remaining--;
      failures.push({ code: found.code, phase, to: recipients });
    }
    return found;
  };
  const smtpError = (failure: Pending) =>
    Object.assign(new Error(failure.message ?? (failure.code < 500 ? 'Try again later' : 'Rejected')), {
      responseCode: failure.code,
    });

  const disabled: string[] = [];
  if (!options.tls) disabled.push('STARTTLS');
  if (!options.auth) disabled.push('AUTH');

  const server = new SMTPServer({
    name: 'smtp-sink.test',
    logger: false,
    secure: options.secure ?? false,
    key: options.tls?.key,
    cert: options.tls?.cert,
    disabledCommands: disabled,
    authOptional: !options.auth,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      const ok = options.auth && auth.username === options.auth.user && auth.password === options.auth.pass;
      if (ok) callback(null, { user: auth.username });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const failure = take('rcpt', [address.address]);
      callback(failure ? smtpError(failure) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        const failure = take('data', recipients);
        if (failure) return callback(smtpError(failure));
        received.push(parseMail(Buffer.concat(chunks).toString('utf8'), session, recipients));
        callback(null, 'Queued as sink');
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    received,
    failures,
    failNext(failure) {
      pending.push({ ...failure, phase: failure.phase ?? 'data', remaining: failure.times ?? 1 });
    },
    header(mail, name) {
      return mail.headers.get(name.toLowerCase())?.[0];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parseMail(raw: string, session: SMTPServerSession, to: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 4);
  const headers = new Map<string, string[]>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const user = typeof session.user === 'string' ? session.user : undefined;
  return { envelope: { from, to }, raw, headers, body, secure: session.secure, user, sessionId: session.id };
}

/**
 * A throwaway self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI
 * (node:crypto cannot issue certificates). Returns undefined when openssl is not installed,
 * so TLS tests can skip. `cert` doubles as the CA a client must trust.
 */
export function createTestCertificate(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
