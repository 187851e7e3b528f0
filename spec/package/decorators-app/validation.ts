/**
 * Run directly, without a build: `node --import @oxc-node/core/register validation.ts` (the README's
 * runner for TypeScript 7). A guarded route whose body class routing-controllers validates with
 * class-validator: the validation runs only when the runner emits decorator metadata (tsx, vite and
 * other esbuild-based runners do not, and the invalid body then passes). Prints what three requests got.
 */
import 'reflect-metadata';
import { IsString } from 'class-validator';
import { Body, createKoaServer, JsonController, Post } from 'routing-controllers';
import { createAccessToken, Identity, JwtManager, JwtRequired } from 'koa-jwt-extended';

JwtManager.configure({ secret: 'runner-secret-of-at-least-32-bytes!!' });

class NoteBody {
  @IsString()
  text!: string;
}

@JsonController()
class NotesController {
  @Post('/notes')
  @JwtRequired()
  add(@Identity() author: string, @Body() body: NoteBody) {
    return { author, text: body.text, isNoteBody: body instanceof NoteBody };
  }
}

const server = createKoaServer({ controllers: [NotesController] }).listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as { port: number };
  const token = await createAccessToken('alice');
  const post = async (body: unknown, authorization?: string): Promise<[number, unknown]> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== undefined) headers.authorization = authorization;
    const response = await fetch(`http://127.0.0.1:${port}/notes`, { method: 'POST', headers, body: JSON.stringify(body) });
    const json = (await response.json()) as { message?: string };
    return [response.status, response.status === 400 ? json.message : json];
  };
  const results = {
    valid: await post({ text: 'hello' }, `Bearer ${token}`),
    invalid: await post({ text: 5 }, `Bearer ${token}`),
    anonymous: await post({ text: 'hello' }),
  };
  console.log(JSON.stringify(results));
  server.close();
});
