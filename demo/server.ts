/** `npm run demo`: the seed's examples on port 5000 (PORT overrides). */
import { createDemoApp } from './app';

const port = Number(process.env.PORT ?? 5000);
createDemoApp()
  .listen(port, () => console.log(`koa-jwt-extended demo on http://localhost:${port}  (GET / lists the endpoints)`));
