/**
 * Starts the Flask-JWT-Extended app of flask_app.py with Debian's python
 * (`python3-python-flask-jwt-extended`), and says why when it cannot.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';

/** Why the Flask side cannot run here, or undefined when it can. */
export function flaskMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import flask_jwt_extended; print(flask_jwt_extended.__version__)'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found (${probe.error.message})`;
  if (probe.status !== 0) return `flask_jwt_extended is not installed for ${PYTHON}: apt-get install -y python3-python-flask-jwt-extended`;
  return undefined;
}

export interface FlaskApp {
  url: string;
  stop(): void;
}

/**
 * Runs flask_app.py on a free loopback port with `secret` as JWT_SECRET_KEY.
 *
 * @example const flask = await startFlask(secret); request(flask.url).get('/protected')
 */
export function startFlask(secret: string): Promise<FlaskApp> {
  const child: ChildProcess = spawn(PYTHON, [join(__dirname, 'flask_app.py')], {
    env: { ...process.env, JWT_SECRET_KEY: secret, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (chunk) => { errors = (errors + chunk).slice(-4000); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the Flask app did not start in 15 s:\n${errors}`)), 15_000);
    function fail(error: Error): void {
      clearTimeout(timer);
      child.kill();
      reject(error);
    }
    child.once('exit', (code) => fail(new Error(`the Flask app exited (${code}):\n${errors}`)));
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const port = Number(chunk.toString().trim().split('\n')[0]);
      resolve({ url: `http://127.0.0.1:${port}`, stop: () => child.kill() });
    });
  });
}
