"""The Vinted accounts API: accounts (never their secrets), session import (write-only), the ledger."""
