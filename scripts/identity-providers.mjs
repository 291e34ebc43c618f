// Two OpenID Connect providers on 127.0.0.1, for the demo and the tests: one that speaks like
// Pro Santé Connect, one like FranceConnect. Both are oidc-provider (a certified OpenID
// Connect implementation), with the claims the real providers send (see README.md, "National
// logins") and a page where one picks who to be, instead of a CPS card or a tax account.
//
//   node scripts/identity-providers.mjs [--port 8100] [--carnet http://127.0.0.1:8000]...
//
// Each --carnet is a portal whose callbacks are registered. Carnet's client at each provider
// is the one its settings name (CARNET_PSC_CLIENT_ID and _SECRET, CARNET_FRANCECONNECT_...),
// read from the environment as Carnet reads them, or the defaults below. Once listening, one
// line goes to the standard output: `ready http://127.0.0.1:PORT`. The keys are made anew at
// each start, and nothing is kept: a restart forgets every session.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: '8100' },
    carnet: { type: 'string', multiple: true, default: ['http://127.0.0.1:8000'] },
  },
});
const port = Number(options.port);
const origin = `http://127.0.0.1:${port}`;

const CLIENTS = {
  psc: {
    client_id: process.env.CARNET_PSC_CLIENT_ID || 'carnet',
    client_secret: process.env.CARNET_PSC_CLIENT_SECRET || 'local-pro-sante-connect-secret',
  },
  franceconnect: {
    client_id: process.env.CARNET_FRANCECONNECT_CLIENT_ID || 'carnet',
    client_secret: process.env.CARNET_FRANCECONNECT_CLIENT_SECRET || 'local-franceconnect-secret',
  },
};

// --- the people ---------------------------------------------------------------------------

// A practice as Pro Santé Connect's SubjectRefPro describes it: the national profession code
// (TRE_G15) and the specialty (TRE_R38), among fields Carnet does not read.
function practice(codeProfession, codeSavoirFaire, firstName, lastName) {
  return {
    codeProfession,
    codeCategorieProfessionnelle: 'C',
    codeCiviliteDexercice: codeProfession === '10' ? 'DR' : '',
    nomDexercice: lastName,
    prenomDexercice: firstName,
    codeTypeSavoirFaire: codeSavoirFaire ? 'S' : '',
    codeSavoirFaire,
    activities: [{ codeModeExercice: 'L', codeSecteurDactivite: 'SA07', codePostal: '75011' }],
  };
}

// SubjectNameID is the national identifier of health professionals: 8 and the RPPS number
// (0 and the ADELI number for those who have none). The first ones are the demo's
// professionals (portal/demo.py); then people Carnet does not know yet, or cannot let in.
const rpps = (number) => `8${number}`;

function professional(label, nationalId, firstName, lastName, codeProfession, codeSavoirFaire = '') {
  return {
    label,
    claims: {
      SubjectNameID: nationalId,
      preferred_username: nationalId,
      given_name: firstName,
      family_name: lastName,
      SubjectOrganization: `Cabinet ${lastName}`,
      SubjectRefPro: {
        codeCivilite: 'M',
        exercices: [practice(codeProfession, codeSavoirFaire, firstName, lastName)],
      },
    },
  };
}

const PROFESSIONALS = {
  'dr-bernard': professional('Dr Sophie Bernard, médecin généraliste', rpps('10001010015'), 'Sophie', 'Bernard', '10', 'SM54'),
  'dr-garcia': professional('Dr Karim Garcia, cardiologue', rpps('10001010023'), 'Karim', 'Garcia', '10', 'SM04'),
  'ph-petit': professional('Hélène Petit, pharmacienne', rpps('10001010056'), 'Hélène', 'Petit', '21'),
  'dr-simon': professional('Dr Anne Simon, médecin du travail', rpps('10001010072'), 'Anne', 'Simon', '10', 'SM25'),
  'ph-fabre': professional('Lucie Fabre, pharmacienne (pas encore dans Carnet)', rpps('10001010205'), 'Lucie', 'Fabre', '21'),
  'op-girard': professional('Paul Girard, orthopédiste-orthésiste (profession inconnue de Carnet)', rpps('10001010213'), 'Paul', 'Girard', '83'),
  'adeli-roche': professional('Marc Roche, identifié par un numéro ADELI', '0751234567', 'Marc', 'Roche', '60'),
  'sans-rpps': professional('Identité sans numéro RPPS', undefined, 'Jeanne', 'Sans-Numéro', '10'),
};

// FranceConnect's identity pivot: names, birth date and place; `sub` is the key below.
function citizen(label, givenName, familyName, birthdate, gender) {
  return {
    label,
    claims: {
      given_name: givenName,
      family_name: familyName,
      birthdate,
      gender,
      birthplace: '75056',
      birthcountry: '99100',
    },
  };
}

const CITIZENS = {
  'fc-5b0e6c1f-camille': citizen('Camille Martin, née le 12 avril 1986', 'Camille', 'Martin', '1986-04-12', 'female'),
  'fc-8d2a4e93-jules': citizen('Jules Petit, né le 3 novembre 1979', 'Jules', 'Petit', '1979-11-03', 'male'),
  'fc-c41f7d20-emma': citizen('Emma Roux (sans compte Carnet)', 'Emma', 'Roux', '1992-07-30', 'female'),
};

// --- the providers ------------------------------------------------------------------------

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 2rem auto"><h1>${escape(title)}</h1>${body}</body></html>`;
}

function makeProvider({ path, name, people, claims, acrValues, levels, client }) {
  const issuer = `${origin}/${path}`;
  const provider = new Provider(issuer, {
    clients: [{
      ...CLIENTS[path],
      redirect_uris: options.carnet.map((url) => `${url}/login/${path}/callback`),
      post_logout_redirect_uris: options.carnet.map((url) => `${url}/`),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      ...client,
    }],
    claims,
    acrValues,
    scopes: ['openid', ...Object.keys(claims).filter((scope) => Array.isArray(claims[scope]))],
    responseTypes: ['code'],
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    jwks: { keys: [signingKey()] },
    features: {
      devInteractions: { enabled: false },
      jwtUserinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page(`Se déconnecter de ${name} ?`, `${form}
<button form="op.logoutForm" name="logout" value="yes">Me déconnecter de ${escape(name)}</button>
<button form="op.logoutForm">Rester connecté</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page(`Vous êtes déconnecté de ${name}`, '');
        },
      },
    },
    interactions: { url: async (ctx, interaction) => `/${path}/interaction/${interaction.uid}` },
    findAccount: async (ctx, id) => people[id] && {
      accountId: id,
      claims: async () => ({ sub: id, ...people[id].claims }),
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Erreur', `<pre>${escape(JSON.stringify(out, null, 2))}</pre>`);
    },
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600,
    },
  });
  // Pro Santé Connect publishes its discovery document under a name of its own.
  const discoveryAliases = path === 'psc' ? ['/.well-known/wallet-openid-configuration'] : [];

  // Who to be: a form in place of the provider's own login, then its consent (granted).
  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      const choices = Object.entries(people).map(([id, person], index) => `<p><label><input type="radio" name="identity" value="${escape(id)}"${index ? '' : ' checked'}> ${escape(person.label)}</label></p>`).join('');
      const level = levels.map(([acr, label], index) => `<p><label><input type="radio" name="acr" value="${acr}"${index ? '' : ' checked'}> ${escape(label)}</label></p>`).join('');
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(page(`${name} (local, pour la démonstration)`, `<form method="post">
<fieldset><legend>Qui êtes-vous ?</legend>${choices}</fieldset>
<fieldset><legend>Comment vous êtes-vous identifié ?</legend>${level}</fieldset>
<p><button name="decision" value="accept">Se connecter</button> <button name="decision" value="refuse">Refuser</button></p>
</form>`));
      return;
    }
    const form = new URLSearchParams(await new Promise((resolve) => {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => resolve(body));
    }));
    const accountId = form.get('identity');
    if (form.get('decision') !== 'accept' || !people[accountId]) {
      await provider.interactionFinished(req, res, {
        error: 'access_denied', error_description: 'La personne a refusé.',
      }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    await provider.interactionFinished(req, res, {
      login: { accountId, acr: form.get('acr') || levels[0][0], amr: ['pwd'] },
      consent: { grantId: await grant.save() },
    }, { mergeWithLastSubmission: false });
  }

  const callback = provider.callback();
  return async (req, res) => {
    const local = req.url.slice(path.length + 1) || '/';
    if (discoveryAliases.includes(local.split('?')[0])) {
      req.url = '/.well-known/openid-configuration';
    } else {
      req.url = local;
    }
    req.originalUrl = `/${path}${req.url}`;
    if (req.url.startsWith('/interaction/')) {
      try {
        await interaction(req, res);
      } catch (error) {
        res.statusCode = 400;
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(page('Erreur', `<p>${escape(error.message)}</p>`));
      }
      return;
    }
    callback(req, res);
  };
}

const providers = {
  psc: makeProvider({
    path: 'psc',
    name: 'Pro Santé Connect',
    people: PROFESSIONALS,
    claims: {
      scope_all: ['SubjectNameID', 'preferred_username', 'given_name', 'family_name', 'SubjectOrganization', 'SubjectRefPro'],
    },
    acrValues: ['eidas1'],
    levels: [['eidas1', 'Carte CPS ou application e-CPS']],
    // Pro Santé Connect's userinfo may come as a signed JWT: this one always does.
    client: { userinfo_signed_response_alg: 'RS256' },
  }),
  franceconnect: makeProvider({
    path: 'franceconnect',
    name: 'FranceConnect',
    people: CITIZENS,
    claims: {
      profile: ['given_name', 'family_name', 'birthdate', 'gender', 'preferred_username'],
      birth: ['birthplace', 'birthcountry'],
    },
    acrValues: ['eidas1', 'eidas2', 'eidas3'],
    levels: [
      ['eidas1', 'FranceConnect (un compte impots.gouv.fr ou ameli.fr, par exemple)'],
      ['eidas2', "FranceConnect+ (l'Identité Numérique La Poste, par exemple)"],
    ],
    client: {},
  }),
};

const server = http.createServer((req, res) => {
  const name = req.url.split('/')[1];
  if (!providers[name]) {
    res.statusCode = 404;
    res.end();
    return;
  }
  providers[name](req, res);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${origin}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
