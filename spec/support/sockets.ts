/**
 * Several requests on one connection, as a pooling reverse proxy sends them: one after
 * the other on a keep-alive socket, or pipelined (all written before any answer).
 * State that outlives its request shows up here and nowhere else.
 */
import assert from 'node:assert/strict';
import http, { type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface SocketRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
}

export interface SocketResponse {
  status: number;
  body: unknown;
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The requests one after the other through an agent with one keep-alive socket; fails
 * unless every request after the first went out on the socket the first one opened.
 *
 * @example const [alice, anonymous] = await onOneKeepAliveSocket(server, [{ path: '/me', headers }, { path: '/me' }])
 */
export async function onOneKeepAliveSocket(server: Server, requests: SocketRequest[]): Promise<SocketResponse[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const responses: SocketResponse[] = [];
  const sockets = new Set<net.Socket>();
  try {
    for (const { method = 'GET', path, headers = {} } of requests) {
      responses.push(await new Promise<SocketResponse>((resolve, reject) => {
        const req = http.request({ port: portOf(server), host: '127.0.0.1', method, path, headers, agent }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: parseBody(text) }));
        });
        req.on('socket', (socket) => sockets.add(socket));
        req.on('error', reject);
        req.end();
      }));
    }
  } finally {
    agent.destroy();
  }
  assert.equal(sockets.size, 1, 'every request must reuse the first one\'s socket');
  return responses;
}

/**
 * The requests written at once on one raw TCP socket (HTTP/1.1 pipelining), then the
 * responses read back in order (each must carry Content-Length, as Koa's do).
 *
 * @example const [alice, anonymous] = await pipelined(server, [{ path: '/me', headers }, { path: '/me' }])
 */
export function pipelined(server: Server, requests: SocketRequest[]): Promise<SocketResponse[]> {
  const raw = requests.map(({ method = 'GET', path, headers = {} }) => {
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    return `${lines.join('\r\n')}\r\n\r\n`;
  }).join('');
  return new Promise((resolve, reject) => {
    const socket = net.connect(portOf(server), '127.0.0.1', () => socket.write(raw));
    let buffer = Buffer.alloc(0);
    const responses: SocketResponse[] = [];
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(head[0].split(' ')[1]);
        const lengthLine = head.find((line) => /^content-length:/i.test(line));
        const length = lengthLine === undefined ? 0 : Number(lengthLine.split(':')[1]);
        if (buffer.length < end + 4 + length) return;
        responses.push({ status, body: parseBody(buffer.subarray(end + 4, end + 4 + length).toString('utf8')) });
        buffer = buffer.subarray(end + 4 + length);
        if (responses.length === requests.length) {
          socket.destroy();
          resolve(responses);
          return;
        }
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed after ${responses.length} of ${requests.length} responses`)));
  });
}

/** Both transports, by name, for a table of tests. */
export const ONE_CONNECTION = { 'one keep-alive socket': onOneKeepAliveSocket, 'a pipelined raw socket': pipelined } as const;
