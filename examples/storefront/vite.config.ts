// `npm run build` writes dist/, which the Go server serves at /shop/ when
// STOREFRONT_DIR names it (make storefront). `npm run dev` serves the app
// with hot reload; point it at `make run` with
// VITE_GRAPHQL_URL=http://127.0.0.1:8080/graphql (the API allows localhost
// origins by default, websockets included).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/shop/',
  plugins: [react()],
  server: { host: '127.0.0.1', port: 5173, strictPort: false },
  preview: { host: '127.0.0.1', port: 4173 },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No data: URLs for fonts or scripts: everything is a file on 'self'.
    assetsInlineLimit: 0,
  },
});
