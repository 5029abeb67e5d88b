// Playwright configuration for the browser tests. `make test-browser`
// (scripts/test-browser.sh) starts a fresh server and passes its address as
// HOLDFAST_URL; the tests drive Debian's Chromium (/usr/bin/chromium), never
// a browser downloaded by Playwright.
import { defineConfig } from '@playwright/test';

const baseURL = process.env.HOLDFAST_URL;
if (!baseURL) {
  throw new Error('HOLDFAST_URL is not set: run the browser tests with `make test-browser`');
}

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // One server, one browser: the machine is small and the tests are few.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  use: {
    baseURL,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
