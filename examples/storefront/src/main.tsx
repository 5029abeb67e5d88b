import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App';
import { SessionProvider } from './account/SessionContext';
import { CartProvider } from './cart/CartContext';
import './styles.css';

// Vite's base (/shop/) without its trailing slash.
const basename = import.meta.env.BASE_URL.replace(/\/$/, '');

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {/* The session gives the GraphQL client (which carries its token). */}
    <SessionProvider>
      <BrowserRouter basename={basename}>
        <CartProvider>
          <App />
        </CartProvider>
      </BrowserRouter>
    </SessionProvider>
  </StrictMode>,
);
