@policy @sso @office365 @needs:office365-graph @needs:sso
Feature: Sign-in prompts and automatic integration over SSO
  "Ask users to integrate Office 365 calendar when they sign in": on the first SSO sign-in only
  (afterwards users set it up manually), or at every SSO sign-in until the integration exists;
  the platform redirects the user to the Office 365 OAuth URL. The SSO-based integration needs
  SSO configured, the identity provider federated with the Microsoft tenant, a full or hybrid
  Office 365 environment (not fully on-premises) and the integration configured for Office 365;
  the admin who switches it on has an Office 365 administrator role, which the integration
  learned from the admin's own sign-in at Microsoft (features/sso_admin_role.feature).
  "Automatically integrate user's calendar upon login" is for Office 365 only.

  Background:
    Given a meeting platform account owned by the admin of tenant "contoso"
    And the admin enables calendar and contacts integration
    And the admin sets the default calendar service to "Office 365" authorized with "Graph API"
    And the admin sets the calendar permission to "Read" and the contacts permission to "Read"
    And the admin changes the account settings:
      | setting        | value |
      | sso_configured | on    |
      | idp_federated  | on    |
    And the admin has integrated their own Office 365 calendar
    And the user is the second member of tenant "contoso"

  @req:PROMPT-01 @req:PROMPT-02 @req:PROMPT-03
  Scenario: Asked on the first SSO sign-in only; after declining, the user integrates manually
    Given the admin changes the account settings:
      | setting                     | value         |
      | ask_to_integrate_on_sign_in | first_sign_in |
    When the user signs in with SSO using client 5.17.11 on windows
    Then the user is redirected to the Office 365 OAuth URL
    When the user follows the redirect and declines the consent
    Then the integration status is not "connected"
    When the user signs in with SSO using client 5.17.11 on windows
    Then the user who declined is not asked again and is left to integrate manually
    When the user tries to set up the calendar integration with the default service from the profile
    Then the integration status is "connected"

  @req:PROMPT-02
  Scenario: Accepting the redirect of the first SSO sign-in integrates the user
    Given the admin changes the account settings:
      | setting                     | value         |
      | ask_to_integrate_on_sign_in | first_sign_in |
    When the user signs in with SSO using client 5.17.11 on mac
    Then the user is redirected to the Office 365 OAuth URL
    When the user follows the redirect and accepts the consent
    Then the integration status is "connected"
    And the identity provider was asked for exactly the resource scopes "Calendars.Read Contacts.Read"

  @req:PROMPT-04
  Scenario: Asked at every SSO sign-in until the integration exists, then no more
    Given the admin changes the account settings:
      | setting                     | value         |
      | ask_to_integrate_on_sign_in | every_sign_in |
    When the user signs in with SSO using client 5.17.11 on windows
    Then the user is redirected to the Office 365 OAuth URL
    When the user follows the redirect and declines the consent
    And the user signs in with SSO using client 5.17.11 on windows
    Then the user is redirected to the Office 365 OAuth URL
    When the user follows the redirect and accepts the consent
    Then the integration status is "connected"
    When the user signs in with SSO using client 5.17.11 on windows
    Then the user gets no prompt

  @req:PROMPT-01
  Scenario Outline: No Office 365 prompt with the option <mode> and a sign-in with <method>
    Given the admin changes the account settings:
      | setting                     | value  |
      | ask_to_integrate_on_sign_in | <mode> |
    When the user signs in with <method> using client 5.17.11 on windows
    Then the user gets no prompt
    And the integration status is "not_connected"

    Examples:
      | mode          | method     |
      | off           | SSO        |
      | every_sign_in | a password |

  @req:SSO-04 @req:SSO-06 @req:SSO-07
  Scenario Outline: Asking users to integrate on sign-in needs the SSO prerequisites (<setting> <value>)
    When the admin tries to change the account settings:
      | setting                     | value         |
      | ask_to_integrate_on_sign_in | every_sign_in |
      | <setting>                   | <value>       |
    Then the change is refused with "<code>" and a message containing "<message>"
    And the policy is unchanged

    Examples:
      | setting                  | value       | code                           | message                                               |
      | sso_configured           | off         | sso_not_configured             | needs single sign-on configured                       |
      | idp_federated            | off         | idp_not_federated              | federated with the Microsoft tenant                   |
      | office365_environment    | on_premises | on_premises_unsupported        | a fully on-premises environment is not supported      |
      | default_calendar_service | Google      | office365_integration_required | calendar and contact integration configured for Office 365 |
      | calendar_integration     | off         | office365_integration_required | calendar and contact integration configured for Office 365 |

  @req:SSO-06
  Scenario: A hybrid Office 365 environment meets the SSO prerequisite
    When the admin changes the account settings:
      | setting                     | value          |
      | office365_environment       | hybrid         |
      | exchange_onprem_build       | 15.1.2507.6    |
      | authorize_with              | ews            |
      | ews_url                     | <hub EWS URL>  |
      | ask_to_integrate_on_sign_in | every_sign_in  |
    Then the change is accepted
    And the account setting "ask_to_integrate_on_sign_in" is "every_sign_in"

  @req:SSO-04
  Scenario: Without SSO configured there is no SSO sign-in
    Given the admin changes the account settings:
      | setting        | value |
      | sso_configured | off   |
    When the user tries to sign in with SSO using client 5.17.11 on windows
    Then the sign-in is refused with "sso_not_configured" and a message containing "not configured"
    And nothing changed

  @req:SSO-09 @req:SSO-01 @req:SSO-02 @req:SSO-03 @req:CONSENT-11 @needs:contacts
  Scenario: Automatic integration upon SSO login populates meetings and contacts
    Given the admin changes the account settings:
      | setting                     | value |
      | office365_users_can_consent | on    |
      | auto_integrate_on_login     | on    |
    When the user signs in with SSO using client 5.17.11 on windows
    Then the sign-in integrates automatically
    And the user is redirected to the Office 365 OAuth URL
    When the user follows the redirect and accepts the consent
    Then the integration status is "connected"
    And the SSO sign-in authorized both the calendar and the contacts integration
    And the user's calendar and contacts were read at once, with nothing more for the user to do
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else
    And the contact list shows the user's Office 365 contacts

  @req:SSO-09 @req:APPPERM-01 @needs:app-permissions
  Scenario: With application permissions the automatic integration needs no Microsoft sign-in by the user
    Given the admin chooses that the Office 365 admin sets up the integration with application permissions
    And the admin authorizes the integration as Office 365 admin on behalf of the company
    And the admin changes the account settings:
      | setting                     | value |
      | office365_users_can_consent | on    |
      | auto_integrate_on_login     | on    |
    When the user signs in with SSO using client 5.17.11 on windows
    Then the sign-in integrates automatically
    And the integration status is "connected"
    And the meeting list shows every meeting of the user's Office 365 calendar in the next 14 days and nothing else
    And the user never had to sign in at Microsoft

  @req:SSO-09
  Scenario: A password sign-in does not integrate automatically
    Given the admin changes the account settings:
      | setting                     | value |
      | office365_users_can_consent | on    |
      | auto_integrate_on_login     | on    |
    When the user signs in with a password using client 5.17.11 on windows
    Then the user gets no prompt
    And the integration status is "not_connected"

  @req:SSO-08
  Scenario: Automatic integration upon login is refused for a service other than Office 365
    When the admin tries to change the account settings:
      | setting                     | value  |
      | default_calendar_service    | Google |
      | office365_users_can_consent | on     |
      | auto_integrate_on_login     | on     |
    Then the change is refused with "office365_only" and a message containing "available for Office 365 only"
    And the policy is unchanged

  @req:CONSENT-11
  Scenario: Automatic integration upon login needs the Office 365 user-consent option on
    When the admin tries to change the account settings:
      | setting                 | value |
      | auto_integrate_on_login | on    |
    Then the change is refused with "users_cannot_consent" and a message containing "Office 365 users can consent to enterprise applications"
    And the policy is unchanged
